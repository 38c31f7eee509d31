warn("@on")
setmetatable({}, {__gc = function() error("in a finalizer") end})
collectgarbage()
print("still running")
