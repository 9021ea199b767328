"""Message history: the store interface and its SQLite and PostgreSQL implementations."""
