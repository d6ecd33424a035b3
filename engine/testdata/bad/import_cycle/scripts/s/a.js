importScript("lib/x.js");
setSuccess();
