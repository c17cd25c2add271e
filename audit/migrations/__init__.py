"""Alembic migrations of the inspection store, run in code by :func:`audit.store.upgrade` (no alembic.ini)."""
