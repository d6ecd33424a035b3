persistMap.putAll(sessionMap);
const n = sessionMap.get("COUNT") + 1;
persistMap.put("COUNT", n);
resMap.put("COUNT", n);
setSuccess();
