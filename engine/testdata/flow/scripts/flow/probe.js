// Tries to leave traces in the runtime, and reports traces of earlier runs.
(function () {
	var seen = {
		leakedGlobal: typeof leaked,
		leakedVar: typeof leakedVar,
		arrayProto: typeof [].injected,
		objectProto: typeof ({}).injected,
		jsonParse: JSON.parse === JSON.parse && typeof JSON.sneaky,
		tid: tid,
		constant: FlowConstants.LIMIT,
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
