persistMap.putAll(sessionMap);
resMap.put("NAME", sessionMap.get("NAME"));
setSuccess("DONE", "all done");
