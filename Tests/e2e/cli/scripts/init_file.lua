INIT_RAN = "from @file"
