SLOW.waitForCancel(); setSuccess();
