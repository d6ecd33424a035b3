importScript("lib/payment.js");

// 결제: the merchant's server confirms the amount. BILL holds the monthly
// limit, charges through the carrier and records the charge; a repeat
// answers the first outcome and charges nothing.
(function () {
	var cp = merchant();
	if (cp === null) {
		return;
	}
	var bill = BILL.charge(cp.id, Number(reqMap.get("AMOUNT")));
	resMap.put("STATUS", bill.status);
	if (!bill.ok) {
		return fail(bill);
	}
	persistMap.putAll(sessionMap);
	persistMap.put("PAID_AT", bill.paidAt);
	resMap.put("AMOUNT", bill.amount);
	resMap.put("PAID_AT", bill.paidAt);
	setSuccess();
})();
