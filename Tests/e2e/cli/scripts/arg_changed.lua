arg = nil
print("arg removed", arg)
