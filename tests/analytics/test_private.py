"""Personal data at rest: uploads and runs private to the service's user."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from analytics import private, runs
from analytics.model import DropError
from analytics.reader import read_drop
from analytics.store import Workspace, workspace_root
from dashboard import data


def modes(root: Path) -> dict[str, int]:
    """Permission bits of every folder and file under root, root included."""
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return out


@pytest.fixture
def open_umask():
    old = os.umask(0o022)  # the usual default, which leaves new files world-readable
    yield
    os.umask(old)


def test_uploads_are_private_whatever_the_umask(small_drop, tmp_path, monkeypatch, open_umask):
    monkeypatch.setenv("AIDWATCH_PRIVATE_DIR", str(tmp_path / "svc"))
    folder = data.save_uploads([(p.name, p.read_bytes()) for p in sorted(small_drop.iterdir())])
    assert folder.is_relative_to(tmp_path / "svc" / "uploads")
    found = modes(tmp_path / "svc")
    assert len(found) == 3 + len(list(small_drop.iterdir()))
    for name, mode in found.items():
        is_dir = (tmp_path / "svc" / name).is_dir()
        assert mode == (0o700 if is_dir else 0o600), (name, oct(mode))


def test_workspace_runs_and_database_are_private_whatever_the_umask(
    small_drop, tmp_path, monkeypatch, open_umask
):
    monkeypatch.delenv("AIDWATCH_DATABASE_URL", raising=False)
    ws = Workspace.open(tmp_path / "ws")
    try:
        runs.run_and_write(ws, read_drop(small_drop), small_drop)
    finally:
        ws.store.dispose()
    found = modes(ws.root)
    assert {
        "findings.csv",
        "rejects.csv",
        "indicators.csv",
        "checks.csv",
        "aidwatch.db",
        "manifest.json",
    } <= {Path(name).name for name in found}
    wrong = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o700 if (ws.root / name).is_dir() else 0o600)
    }
    assert wrong == {}


def test_default_root_is_the_users_own_folder(monkeypatch):
    monkeypatch.delenv("AIDWATCH_PRIVATE_DIR", raising=False)
    monkeypatch.delenv("AIDWATCH_WORKSPACE", raising=False)
    assert private.root().name == f"aidwatch-{os.getuid()}"
    assert workspace_root() == private.root() / "workspace"


def test_an_open_existing_folder_is_closed(tmp_path):
    folder = tmp_path / "svc"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    private.ensure_dir(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_of_another_user_is_refused(tmp_path):
    folder = tmp_path / "svc"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    with pytest.raises(DropError, match="属于其他系统用户"):
        private.ensure_dir(folder)


def test_a_symlink_in_place_of_the_folder_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "svc").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(DropError, match="不是文件夹"):
        private.ensure_dir(tmp_path / "svc")


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("persons\x00.csv", "空字符或控制字符"),
        ("人员信息" * 30 + ".csv", "过长"),
        ("", "没有文件名"),
        ("..", "没有文件名"),
    ],
)
def test_unusable_upload_names_are_refused_with_a_message(tmp_path, name, says):
    with pytest.raises(DropError, match=says) as raised:
        data.save_uploads([(name, b"id_number\n")])
    assert "\x00" not in str(raised.value) and len(str(raised.value)) < 200
    assert not (tmp_path / "aidwatch-private" / "uploads").exists() or not any(
        (tmp_path / "aidwatch-private" / "uploads").iterdir()
    )


def test_a_path_in_an_upload_name_keeps_only_its_last_part(tmp_path):
    folder = data.save_uploads([("../../etc/persons.csv", b"x"), ("..\\..\\cases.csv", b"y")])
    assert sorted(p.name for p in folder.iterdir()) == ["cases.csv", "persons.csv"]
