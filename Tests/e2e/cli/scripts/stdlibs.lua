-- All standard libraries are open, with the same contents. (Only Lua's own
-- globals are listed: kcsh may add its own, such as kc.)
local globals = {
  "_G", "_VERSION", "assert", "collectgarbage", "coroutine", "debug", "dofile", "error",
  "getmetatable", "io", "ipairs", "load", "loadfile", "math", "next", "os", "package",
  "pairs", "pcall", "print", "rawequal", "rawget", "rawlen", "rawset", "require", "select",
  "setmetatable", "string", "table", "tonumber", "tostring", "type", "utf8", "warn", "xpcall",
}
for _, name in ipairs(globals) do io.write(name, ":", type(_G[name]), " ") end
print()
for _, lib in ipairs{"coroutine", "debug", "io", "math", "os", "string", "table", "utf8", "package"} do
  local keys = {}
  for k in pairs(_G[lib]) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  print(lib, table.concat(keys, " "))
end
local loaded = {}
for k in pairs(package.loaded) do loaded[#loaded + 1] = k end
table.sort(loaded)
print("loaded", table.concat(loaded, " "))
print(_VERSION, math.pi, utf8.char(233, 8364))
