"""Alembic environment for vaxres.

vaxres passes its own open connection (already inside a write transaction, BEGIN IMMEDIATE on
SQLite) in config.attributes["connection"]; the alembic command line gets one from the URL.
"""

from alembic import context

from vaxres.db.tables import add_postgresql_predicates, metadata

config = context.config
target_metadata = metadata


def _run(connection) -> None:
    if connection.dialect.name == "postgresql":
        add_postgresql_predicates()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from vaxres.db.store import Store
    from vaxres.settings import resolve_target

    store = Store(config.get_main_option("sqlalchemy.url") or resolve_target(None))
    with store.write() as connection:
        _run(connection)


if context.is_offline_mode():
    raise SystemExit("vaxres migrations run online only: use `vaxres db upgrade`")
run_migrations_online()
