-- kc.run: `kcsh --run NAME [args]` runs a shipped admin script
-- (stdlib/scripts/NAME.lua, found on package.path as module scripts.NAME);
-- `kcsh --run` alone lists them, one line each (the script's first line).

local M = {}

--- The shipped scripts, in the order the list shows them.
M.names = { "invite", "export", "offboard", "rotate-credentials", "copy-org", "audit" }

local function path_of(name)
  return package.searchpath("scripts." .. name, package.path)
end

--- The first comment line of a script: what it does.
local function summary(path)
  local f = path and io.open(path, "r")
  if not f then return "" end
  local line = f:read("l") or ""
  f:close()
  return (line:gsub("^%-%-%s*", ""))
end

--- The list `kcsh --run` prints.
function M.list()
  local out = { "Shipped scripts (kcsh --run NAME --help for each one's options):" }
  for _, name in ipairs(M.names) do
    out[#out + 1] = ("  %-20s %s"):format(name, summary(path_of(name)))
  end
  return table.concat(out, "\n") .. "\n"
end

--- Runs script `name` with the arguments (arg[0] is `name`), or lists the
--- scripts when there is no name; returns what the script returns.
function M.main(name, ...)
  if name == nil or name == "" or name:sub(1, 1) == "-" then
    io.stdout:write(M.list())
    return
  end
  local known = false
  for _, n in ipairs(M.names) do known = known or n == name end
  local path = known and path_of(name)
  if not path then
    error("--run: no shipped script '" .. name .. "' (kcsh --run lists them)", 0)
  end
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  return chunk(...)
end

return M
