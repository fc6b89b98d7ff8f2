"""Work that spans requests and statements: rate limits, password hashing, isolated parsing."""
