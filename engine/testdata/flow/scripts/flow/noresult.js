persistMap.put("X", 1);
