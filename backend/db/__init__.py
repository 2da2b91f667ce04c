"""Database access: the typed ORM models, the async engine and sessions."""
