"""The database engine: a SQLite file (and the folder made for it) that only the service's user can read."""

from __future__ import annotations

import os
import stat

from queue_app.extensions import make_engine


def modes_in(folder) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


def test_a_new_database_its_folder_and_its_wal_files_are_private(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'queue.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        modes = modes_in(tmp_path / "new")
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    assert modes == {"queue.db": 0o600, "queue.db-wal": 0o600, "queue.db-shm": 0o600}


def test_an_existing_database_keeps_the_permissions_its_owner_gave_it(tmp_path):
    """A clinic whose service reads the file through a group set that up on purpose."""
    path = tmp_path / "queue.db"
    path.touch()
    os.chmod(path, 0o640)
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x)")
    engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
