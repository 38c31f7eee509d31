-- The arg table, every index, and the main chunk's varargs.
local lo, hi = 0, 0
for k in pairs(arg) do
  if k < lo then lo = k end
  if k > hi then hi = k end
end
for i = lo, hi do print(i, arg[i]) end
print("#arg", #arg, "select", select("#", ...))
print("...", ...)
