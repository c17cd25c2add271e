"""Alembic migrations of the inspection store, run in code by :func:`audit.records.db.upgrade` (no alembic.ini)."""
