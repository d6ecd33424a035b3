importScript("lib/greet.js");

// The style of the original scripts: an IIFE over the maps.
(function () {
	var name = reqMap.get("NAME");
	persistMap.put("NAME", name);
	persistMap.put("GREETING", greet(name));
	persistMap.put("COUNT", 0);
	log.info("begin for " + name + " secret " + reqMap.get("SECRET_WORD") + " phone 01012345678");
	resMap.put("GREETING", greet(name));
	if (name === "fail") {
		setFail("BEGIN_REFUSED", "refused");
	} else {
		setSuccess();
	}
})();
