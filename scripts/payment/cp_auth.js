importScript("lib/payment.js");

// CP 인증: the merchant, its product and the amount. session_save: always —
// what is persisted is kept even when the step fails; never the password.
(function () {
	var cp = merchant();
	if (cp === null) {
		return;
	}
	var product = {
		id: reqMap.get("P_ID"),
		name: reqMap.get("P_NAME"),
		price: Number(reqMap.get("P_PRICE")),
	};
	persistMap.put("CP", cp);
	persistMap.put("PRODUCT", product);

	var order = BILL.register({
		orderId: reqMap.get("ORDER_ID"),
		productId: product.id,
		productName: product.name,
		price: product.price,
		returnUrl: reqMap.get("RETURN_URL"),
	}, cp.id);
	if (!order.ok) {
		return fail(order);
	}
	log.info("payment registered for " + cp.id + ": " + product.price + " KRW");
	resMap.put("TID", tid);
	resMap.put("PAY_URL", order.payUrl);
	resMap.put("EXPIRES_AT", order.expiresAt);
	setSuccess();
})();
