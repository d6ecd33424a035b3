// x
importScript("lib/y.js");
