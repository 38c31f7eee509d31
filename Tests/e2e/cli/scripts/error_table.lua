error({code = 42, message = "a table"})
