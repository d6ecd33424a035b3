importScript("lib/fns.js");
var seen = {};
seen.before = markOf();
marker = reqMap.get("MARK"); // a global of this run only
seen.after = markOf();
seen.extra = typeof markOf.extra + "," + typeof markOf.prototype.extra;
try { markOf.extra = 1; } catch (e) { }
try { markOf.prototype.extra = 1; } catch (e) { }
var d = Object.getOwnPropertyDescriptor(globalThis, "markOf");
seen.descriptor = [d.writable, d.enumerable, d.configurable].join(",");
markOf = function () { return "replaced"; };
seen.replaced = markOf();
resMap.put("seen", seen);
setSuccess();
