-- The Lua half of the `kc` global. KCModule (Swift) makes the native table
-- (kc.json, kc.null, kc.trace, kc.config) the first time a script reads
-- `kc`, then calls install on it, once, with the private native functions
-- that kc.request is made of.

local M = {}

--- Adds the requests, the resource tree, help and the completion data to `kc`.
---@param kc table the native kc table
---@param native {request: function, request_async: function, describe_error: function, queue: function, now: function, isatty: function, enter: function, leave: function}
function M.install(kc, native)
  require("kc.request").install(kc, native)
  require("kc.tree").install(kc)
  require("kc.csv").install(kc)
  require("kc.json").install(kc)
  require("kc.args").install(kc)
  require("kc.parallel").install(kc, native)
  require("kc.table").install(kc)
  require("kc.confirm").install(kc)
  require("kc.complete").install(kc, native)
  require("kc.plan").install(kc)
  require("kc.journal").install(kc, native)
  require("kc.help").install(kc)
  return kc
end

return M
