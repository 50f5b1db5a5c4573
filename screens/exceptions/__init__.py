"""Exception Handling: management tokens (clear tamper, clear credit, limits, key change) and their records."""
