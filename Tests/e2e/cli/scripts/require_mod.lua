local greet = require("mod_greet")
print(greet.hello("script"), package.loaded.mod_greet == greet)
print(pcall(require, "mod_broken"))
