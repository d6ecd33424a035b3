SLOW.ignoreCancel(Number(reqMap.get("MS"))); setSuccess();
