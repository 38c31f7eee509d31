local fs = {}
for i = 1, 3 do fs[i] = function() return i * 10 end end
local i = 1
::top::
print(fs[i]())
i = i + 1
if i <= 3 then goto top end
print(string.format("%5.2f|%-4s|%q", math.pi, "ab", "a\nb"))
print(("x"):rep(3, ","), ("hello world"):gsub("o", "0"))
