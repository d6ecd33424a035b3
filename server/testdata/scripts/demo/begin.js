(function () {
	persistMap.put("NAME", reqMap.get("NAME"));
	persistMap.put("PHONE", reqMap.get("PHONE"));
	resMap.put("HELLO", "hi " + reqMap.get("NAME"));
	setSuccess();
})();
