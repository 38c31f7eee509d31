error("mod_broken fails to load")
