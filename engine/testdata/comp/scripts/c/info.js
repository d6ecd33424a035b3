resMap.put("info", SLOW.info()); setSuccess();
