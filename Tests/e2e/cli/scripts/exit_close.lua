-- os.exit(n, true) closes the state: finalizers and to-be-closed run.
setmetatable({}, {__gc = function() print("finalized") end})
local x <close> = setmetatable({}, {__close = function() print("closed") end})
os.exit(3, true)
