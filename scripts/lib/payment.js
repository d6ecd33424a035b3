// Helpers shared by the payment and cancel scripts.

// fail ends the step with a component's outcome: {code, message}.
function fail(outcome) {
	setFail(outcome.code, outcome.message);
}

// merchant authenticates the merchant of the request, or fails the step
// and returns null.
function merchant() {
	var cp = CP.authenticate(reqMap.get("CP_ID"), reqMap.get("CP_PWD"));
	if (cp === null) {
		setFail("CP_AUTH_FAILED", "merchant id or password is wrong");
	}
	return cp;
}

// requestUser is the user of a user_auth request.
function requestUser() {
	return {
		name: reqMap.get("name"),
		phone_number: reqMap.get("phone_number"),
		carrier: reqMap.get("carrier"),
		birth: reqMap.get("birth"),
		gender: reqMap.get("gender"),
	};
}
