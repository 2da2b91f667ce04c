"""Domain services: every business rule lives here once, whatever protocol calls it."""
