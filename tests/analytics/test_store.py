"""The workflow database on SQLite and PostgreSQL: migrations, sessions."""

from __future__ import annotations

from sqlalchemy import inspect

from analytics.store.db import open_store
from analytics.store.models import Base


def test_migrations_make_every_table_of_the_models(db_url):
    store = open_store(db_url)
    try:
        tables = set(inspect(store.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert "alembic_version" in tables
        open_store(db_url).dispose()  # a second open finds the schema current
    finally:
        store.dispose()


def test_migrations_match_the_models(db_url):
    """The newest migration creates exactly what the models declare (no change left out)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = open_store(db_url)
    try:
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        store.dispose()
