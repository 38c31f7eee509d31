local function inner(n) if n == 0 then error("boom") end return inner(n - 1) + 1 end
local function outer() return inner(3) end
print("before")
outer()
