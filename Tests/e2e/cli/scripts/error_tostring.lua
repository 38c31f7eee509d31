local E = setmetatable({}, {__tostring = function(e) return "custom error object" end})
error(E)
