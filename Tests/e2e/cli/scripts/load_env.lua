local env = {print = print}
local f = load("x = 1; print('in env', x)", "=chunk", "t", env)
f()
print(x, env.x)
print(load("syntax error here", "=bad"))
print(load(string.dump(function() return 1 end), "b", "t"))
