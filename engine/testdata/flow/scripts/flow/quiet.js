// Logs at every level an object whose rendering shows.
(function () {
	var rendered = [];
	["debug", "info", "warn", "error"].forEach(function (level) {
		log[level]("at " + level, { get x() { rendered.push(level); return 1; } });
	});
	resMap.put("rendered", rendered.join(","));
	setSuccess();
})();
