importScript("lib/payment.js");

// OTP 확인: compared in Go, in constant time; never logged.
(function () {
	var check = OTP.verify(reqMap.get("OTP"));
	if (!check.ok) {
		resMap.put("ATTEMPTS_LEFT", check.attemptsLeft);
		return fail(check);
	}
	persistMap.putAll(sessionMap);
	setSuccess();
})();
