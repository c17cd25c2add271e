"""Alembic environment of the inspection store.

:func:`audit.records.db.upgrade` passes an open connection, already inside a write transaction (``BEGIN IMMEDIATE``
on SQLite), in ``config.attributes["connection"]``: the migrations run in that transaction and the caller
commits. Run from the command line instead, the ``sqlalchemy.url`` option is used.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context


def _run(connection: sa.Connection) -> None:
    # SQLite cannot ALTER most things: batch mode rebuilds tables; its DDL is transactional because SQLAlchemy,
    # not sqlite3, emits BEGIN (see audit.records.db._sqlite_engine).
    context.configure(connection=connection, target_metadata=None, render_as_batch=True,
                      transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if context.is_offline_mode():
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
