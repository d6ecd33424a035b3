importScript("lib/format.js");

(function () {
	// The session data becomes persistMap (session_save: success is the
	// default): carry forward what later steps or lookups need.
	persistMap.putAll(sessionMap);

	if (reqMap.get("ANSWER") !== "yes") {
		setFail("NOT_CONFIRMED", "answer yes to confirm");
		return;
	}
	persistMap.put("CONFIRMED_AT", new Date().toISOString());
	resMap.put("SUMMARY", describeOrder(sessionMap.get("ITEM"), sessionMap.get("QUANTITY")));
	setSuccess("CONFIRMED", "order confirmed");
})();
