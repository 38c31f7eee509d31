local function f() print(debug.traceback("here", 1)) end
f()
print(debug.getinfo(1, "S").source, debug.getinfo(1, "S").short_src)
