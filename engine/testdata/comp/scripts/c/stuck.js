SLOW.block(); setSuccess();
