print("bye")
os.exit(false)
