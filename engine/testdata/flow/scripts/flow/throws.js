(function () {
	var x = null;
	return x.boom;
})();
