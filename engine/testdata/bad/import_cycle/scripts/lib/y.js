importScript("lib/x.js");
