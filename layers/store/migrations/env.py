"""Alembic environment: migrations run on the connection the application hands over."""

from __future__ import annotations

from alembic import context

from layers.store.migrate import objects_for
from layers.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through layers.store.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=objects_for(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
