"""Alembic environment for the audit trail. audit.log.upgrade() passes the connection in; the
`alembic` command line works too with -x url=<SQLAlchemy URL>."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from audit.log import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    with create_engine(url).begin() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
