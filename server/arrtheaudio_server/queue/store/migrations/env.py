"""Alembic's environment for the queue store, run programmatically by :mod:`..migrate`.

No alembic.ini and no URL here: :func:`..migrate.upgrade` hands over an open connection
already inside its transaction (and, on PostgreSQL, holding the schema lock), so the whole
upgrade commits or rolls back as one.
"""

from __future__ import annotations

from alembic import context

from arrtheaudio_server.queue.store.schema import SQLModel

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite cannot ALTER most things: batch mode rebuilds the table in the same transaction.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
