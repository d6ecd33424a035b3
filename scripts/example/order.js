importScript("lib/format.js");

(function () {
	var item = reqMap.get("ITEM");
	var quantity = Number(reqMap.get("QUANTITY"));

	// session_save: always — what is in persistMap is kept even on failure.
	persistMap.put("ITEM", item);
	persistMap.put("QUANTITY", quantity);

	if (quantity > FlowConstants.MAX_QUANTITY) {
		setFail("QUANTITY_OVER_LIMIT", "at most " + FlowConstants.MAX_QUANTITY + " per order");
		return;
	}
	log.info("ordered " + describeOrder(item, quantity));
	resMap.put("SUMMARY", describeOrder(item, quantity));
	setSuccess();
})();
