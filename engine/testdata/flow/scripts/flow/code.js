// Ends with the code it is asked for.
(function () {
	var code = reqMap.get("CODE");
	if (code === "OK") {
		setSuccess();
	} else {
		setFail(code, "as asked");
	}
})();
