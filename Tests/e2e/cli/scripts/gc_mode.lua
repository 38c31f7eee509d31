-- lua.c runs scripts with the collector in generational mode.
print(collectgarbage("incremental"))
print(collectgarbage("generational"))
print(collectgarbage("isrunning"))
