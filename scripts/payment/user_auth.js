importScript("lib/payment.js");

// 사용자 인증: the risk manager, then the carrier, then a new OTP by SMS.
// The OTP never reaches this script: OTP.send draws it, sends it and keeps
// only its hash.
(function () {
	var user = requestUser();

	var risk = USER.checkRisk(user);
	if (!risk.ok) {
		return fail(risk);
	}
	var identity = USER.checkCarrier(user);
	if (!identity.ok) {
		return fail(identity);
	}
	var sms = OTP.send(user);
	if (!sms.ok) {
		return fail(sms);
	}

	persistMap.putAll(sessionMap);
	persistMap.put("USER", { carrier: user.carrier, phone: sms.phone }); // masked; no birth, no name
	resMap.put("PHONE", sms.phone);
	resMap.put("OTP_EXPIRES_AT", sms.expiresAt);
	setSuccess();
})();
