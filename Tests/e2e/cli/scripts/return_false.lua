return false, "not an error"
