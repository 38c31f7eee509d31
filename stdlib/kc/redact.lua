-- Secrets out of what the REPL keeps: a line typed at the prompt goes to
-- the history file with every secret replaced by <redacted>, so it can be
-- recalled and edited, never read back. Secrets are the values of fields
-- the API description marks `secret = true` (client_secret, ...), and
-- strings shaped like Keycard keys and tokens wherever they are.

local api = require("kc.api")

local M = {}

M.MARK = "<redacted>"

-- Names of secret fields: the one list, api.lua's.
local names = api.secret_names

-- Shapes of Keycard secrets: prefixed keys and tokens (kcsb_..., kcat_...,
-- kcsec_...), and JWTs (three base64url parts, the first from '{"').
local SHAPES = {
  "kc%l*_[%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-][%w_%-]*",
  "eyJ[%w_%-]+%.[%w_%-]+%.[%w_%-]*",
}

-- The end of the string literal opening at `i` (a quote or a long
-- bracket), or nil when it does not close on this text.
local function literal_end(s, i)
  local q = s:sub(i, i)
  if q == '"' or q == "'" then
    local j = i + 1
    while j <= #s do
      local c = s:sub(j, j)
      if c == "\\" then
        j = j + 2
      elseif c == q then
        return j, i + 1, j - 1
      elseif c == "\n" then
        return nil
      else
        j = j + 1
      end
    end
    return nil
  end
  local eq = s:match("^%[(=*)%[", i)
  if eq then
    local open = i + #eq + 2
    local close = s:find("]" .. eq .. "]", open, true)
    if close then return close + #eq + 1, open, close - 1 end
  end
  return nil
end

-- Replaces the values of secret fields written as literals: `name = "v"`,
-- `["name"] = 'v'`, `.name = [[v]]`.
local function fields(s)
  local out, pos = {}, 1
  while true do
    local a, b, name = s:find("([%a_][%w_]*)[\"']?%]?%s*=%s*", pos)
    if not a then break end
    local after = s:sub(b + 1, b + 1)
    local ok = names[name] and (a == 1 or not s:sub(a - 1, a - 1):match("[%w_]")) and s:sub(b, b + 1) ~= "=="
    if ok and (after == '"' or after == "'" or after == "[") then
      local stop, from, to = literal_end(s, b + 1)
      if stop then
        out[#out + 1] = s:sub(pos, from - 1) .. (to >= from and M.MARK or "")
        pos = to + 1
      else
        -- an unterminated literal: the rest of the line is the secret
        out[#out + 1] = s:sub(pos, b + 1) .. M.MARK
        pos = #s + 1
        break
      end
    else
      out[#out + 1] = s:sub(pos, b)
      pos = b + 1
    end
  end
  out[#out + 1] = s:sub(pos)
  return table.concat(out)
end

--- `text` with every secret replaced by <redacted>.
function M.text(text)
  if type(text) ~= "string" then return text end
  local s = fields(text)
  for _, shape in ipairs(SHAPES) do
    s = s:gsub("%f[%w_%-]" .. shape, M.MARK)
  end
  return s
end

return M
