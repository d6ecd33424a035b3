// Tries to leave traces in the runtime, and reports traces of earlier runs.
// At the top level, arguments is the engine's wrapper of this file's run.
var wrapperTrace = typeof arguments.callee.injected + "," + typeof arguments.callee.prototype.injected;
try { arguments.callee.injected = 1; } catch (e) {}
try { arguments.callee.prototype.injected = 1; } catch (e) {}
(function () {
	var seen = {
		leakedGlobal: typeof leaked,
		leakedVar: typeof leakedVar,
		arrayProto: typeof [].injected,
		objectProto: typeof ({}).injected,
		jsonParse: JSON.parse === JSON.parse && typeof JSON.sneaky,
		tid: tid,
		constant: FlowConstants.LIMIT,
		wrapper: wrapperTrace,
	};
	leaked = 1;
	globalThis.leakedVar = 2;
	try { Array.prototype.injected = 1; } catch (e) {}
	try { Object.prototype.injected = 1; } catch (e) {}
	try { JSON.sneaky = 1; } catch (e) {}
	try { FlowConstants.LIMIT = 99; } catch (e) {}
	try { reqMap.get = function () { return "hijacked"; }; } catch (e) {}
	resMap.put("seen", seen);
	resMap.put("reqGet", reqMap.get("MARK"));
	setSuccess();
})();
