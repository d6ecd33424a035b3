(function () {
	persistMap.putAll(sessionMap);
	persistMap.put("LAST", reqMap.get("MARK"));
	resMap.put("MARK", reqMap.get("MARK"));
	if (reqMap.get("OUTCOME") === "ok") {
		setSuccess();
	} else {
		setFail("DECLINED", "declined on request");
	}
})();
