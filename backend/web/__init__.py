"""Plain HTTP endpoints beside GraphQL (exports)."""
