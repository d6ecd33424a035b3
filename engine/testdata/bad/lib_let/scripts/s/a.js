importScript("lib/l.js");
setSuccess();
