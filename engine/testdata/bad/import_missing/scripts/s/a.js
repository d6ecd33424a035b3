importScript("lib/none.js");
setSuccess();
