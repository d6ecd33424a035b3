importScript("lib/payment.js");

// 취소 / 환불: BILL decides by the year and month in Asia/Seoul — the month of
// the charge is a carrier cancel, a later one a refund — and reports either
// as a success.
(function () {
	var cp = merchant();
	if (cp === null) {
		return;
	}
	var amount = reqMap.get("AMOUNT");
	var result = BILL.cancel({
		cpId: cp.id,
		oTid: reqMap.get("O_TID"),
		amount: amount === null ? null : Number(amount),
		reason: reqMap.get("REASON"),
		idempotencyKey: reqMap.get("IDEMPOTENCY_KEY"),
	});
	persistMap.put("O_TID", reqMap.get("O_TID"));
	persistMap.put("RESULT", { code: result.code, type: result.type, cancelled: result.cancelledAmount });
	if (!result.ok) {
		return fail(result);
	}
	resMap.put("TYPE", result.type);
	resMap.put("CANCELLED_AMOUNT", result.cancelledAmount);
	resMap.put("REMAINING_AMOUNT", result.remainingAmount);
	resMap.put("STATUS", result.status);
	setSuccess();
})();
