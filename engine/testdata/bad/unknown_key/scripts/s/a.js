setSuccess();
