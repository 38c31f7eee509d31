local co = coroutine.wrap(function() coroutine.yield(1) error("inside a coroutine") end)
print(co())
co()
