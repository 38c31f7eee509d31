print("init ran:", INIT_RAN, "path has marker:", package.path:find("MARKER", 1, true) ~= nil)
