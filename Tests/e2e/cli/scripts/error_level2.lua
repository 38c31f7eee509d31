local function check(x) if not x then error("bad caller", 2) end end
local function caller() check(false) end
caller()
