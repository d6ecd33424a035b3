"use strict";
// Only function declarations: a runtime makes these once and binds them
// again in each step that imports the file.

function markOf() {
	return reqMap.get("MARK") + ":" + stepMarker();
}

function stepMarker() {
	return typeof marker === "undefined" ? "none" : marker;
}
