-- Where kc's readers and writers (kc.csv, kc.json) take their data from: a
-- path, an open file, or "-" for stdin/stdout.

local M = {}

--- Opens `where` for `mode` ("r" or "w"): the file, its name for messages, and
--- whether it was opened here (and so is closed here). Errors name `fname`
--- and point at the caller of the caller.
---@return file*, string, boolean
function M.open(where, mode, fname)
  if where == "-" then
    return mode == "r" and io.stdin or io.stdout, mode == "r" and "stdin" or "stdout", false
  elseif io.type(where) == "file" then
    return where, "file", false
  elseif type(where) == "string" then
    local f, why = io.open(where, mode == "r" and "rb" or "wb")
    if not f then error(fname .. ": " .. why, 3) end
    return f, where, true
  end
  error("bad argument #1 to '" .. fname .. "' (path, file or \"-\" expected, got " .. (io.type(where) or type(where)) .. ")", 3)
end

return M
