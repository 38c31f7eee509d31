os.exit()
