io.write("\0\1\2\255\254 binary\n")
print(#arg > 0 and arg[1]:byte(1, -1))
