var calls = 0;

function greet(name) {
	calls++;
	return FlowConstants.GREETING + " " + name + " #" + calls;
}
