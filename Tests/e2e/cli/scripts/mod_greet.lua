local M = {}
function M.hello(who) return "hello, " .. who end
print("mod_greet loaded as", ...)
return M
