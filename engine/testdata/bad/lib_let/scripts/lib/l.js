var ok = 1;
let bad = 2;
