-- The Lua half of the `kc` global. KCModule (Swift) makes the native table
-- (kc.request, kc.request_async, kc.json, kc.null, kc.trace) the first time
-- a script reads `kc`, then calls install on it, once.

local M = {}

--- Adds the resource tree, help and the completion data to `native`.
function M.install(native)
  require("kc.tree").install(native)
  require("kc.csv").install(native)
  require("kc.json").install(native)
  require("kc.args").install(native)
  local help = require("kc.help")
  native.help = help.print
  -- help() is also a global, unless the script or the REPL has its own.
  if rawget(_G, "help") == nil then rawset(_G, "help", help.print) end
  return native
end

return M
