"""The store's schema revisions, oldest first by number (Alembic reads them)."""
