"""The workspace: imported drops as immutable snapshots, check runs, and the workflow database.

The only package that imports SQLAlchemy. Everything else asks it for frames and plain values:
pages and checks never open a connection themselves. The database is a SQLite file inside the
workspace by default, PostgreSQL when the settings give a URL; nothing here assumes SQLite
outside :func:`analytics.store.db.make_engine`'s dialect check.
"""

from analytics.store.db import Store, open_store
from analytics.store.workspace import Workspace, workspace_root

__all__ = ["Store", "Workspace", "open_store", "workspace_root"]
