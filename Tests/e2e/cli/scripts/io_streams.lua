io.stdout:write("to stdout\n")
io.stderr:write("to stderr\n")
print(io.type(io.stdin), io.type(io.stdout))
