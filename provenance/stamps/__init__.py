"""RFC 3161 time-stamps: requesting tokens, verifying them, what they anchor."""
