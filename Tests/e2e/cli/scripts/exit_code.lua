io.write("buffered, flushed by exit")
os.exit(7)
