print("bye")
os.exit(true)
