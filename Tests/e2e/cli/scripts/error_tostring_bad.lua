-- __tostring that does not return a string: lua.c falls back to the type.
error(setmetatable({}, {__tostring = function() return 12 end}))
