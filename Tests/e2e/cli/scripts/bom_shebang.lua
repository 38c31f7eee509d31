#!/usr/bin/env lua5.4
print("BOM and shebang skipped")
