// Shared helpers for scripts: load with importScript("lib/format.js").
// A library may declare var and function at its top level, not let or const.

function describeOrder(item, quantity) {
	return quantity + " × " + item;
}
