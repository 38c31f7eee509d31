print("looping")
io.stdout:flush()
while true do end
