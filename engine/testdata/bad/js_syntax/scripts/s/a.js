(function(){
  setSuccess(
})();
