"""Alembic environment: runs on the connection server.migrate hands over."""

from alembic import context

from server import models  # noqa: F401  (registers every table on the metadata)
from server.extensions import db

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=db.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
