"""The database: an engine from a URL, migrations to the newest schema, sessions.

The URL is ``AIDWATCH_DATABASE_URL``, else ``database_url`` in the settings' ``[storage]``
section, else a SQLite file ``aidwatch.db`` inside the workspace. Migrations are alembic's
(``analytics/store/migrations``), run on open, so a workspace made by an older version is
brought up to date before anything reads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from analytics import reference

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def configured_url() -> str | None:
    """The database URL the environment or the settings give, if any."""
    return (
        os.environ.get("AIDWATCH_DATABASE_URL") or reference.storage_setting("database_url") or None
    )


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (a session gives its cursor's result)."""
    assert isinstance(result, CursorResult)
    return result.rowcount


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (alembic upgrade head)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@dataclass
class Store:
    """The database of one workspace."""

    engine: Engine

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed at the end, rolled back on an error."""
        with self._sessions.begin() as session:
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str) -> Store:
    engine = make_engine(url)
    migrate(engine)
    return Store(engine)
