print("hello", 1, 2.5, nil, true, 10 // 3, 2^53, math.maxinteger)
io.write("no newline at the end")
