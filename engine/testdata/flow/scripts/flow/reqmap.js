// Reads the request every way reqMap allows, and keeps it.
(function () {
	var mark = reqMap.get("MARK");
	var seen = {
		get: mark,
		missing: reqMap.get("NOPE"),
		has: reqMap.containsKey("MARK") + "," + reqMap.containsKey("NOPE"),
		size: reqMap.size(),
		empty: reqMap.isEmpty(),
		keys: reqMap.keySet().join(","),
		json: JSON.stringify(reqMap),
		text: reqMap.toString(),
		copy: reqMap.toJSON().MARK,
	};
	log.info("request", reqMap);
	persistMap.put("REQ", reqMap);
	persistMap.putAll(reqMap);
	resMap.put("seen", seen);
	setSuccess();
})();
