for i = 1, 3 do print("line", i) end
io.write("partial ")
error("failed after output")
