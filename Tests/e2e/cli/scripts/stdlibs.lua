-- All standard libraries are open, with the same contents.
local names = {}
for k, v in pairs(_G) do names[#names + 1] = k .. ":" .. type(v) end
table.sort(names)
print(table.concat(names, " "))
for _, lib in ipairs{"coroutine", "debug", "io", "math", "os", "string", "table", "utf8", "package"} do
  local keys = {}
  for k in pairs(_G[lib]) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  print(lib, table.concat(keys, " "))
end
print(_VERSION, math.pi, utf8.char(233, 8364))
