var end = Date.now() + Number(reqMap.get("MS") || 300);
while (Date.now() < end) {}
setSuccess();
