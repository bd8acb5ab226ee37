"""Where the service keeps personal data at rest: uploaded files and check runs.

Everything goes under one folder private to the service's own user: folders 0700, files 0600,
whatever the process's umask. The folder is ``AIDWATCH_PRIVATE_DIR``, else ``private_dir`` in
the ``[storage]`` section of the settings, else ``aidwatch-<uid>`` in the system's temporary
folder. A folder that exists already must belong to the service's user (in a shared temporary
folder another user could have made it first to read what lands there); one that is open to
others is closed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from analytics import reference
from analytics.model import DropError, os_reason

DIR_MODE = 0o700
FILE_MODE = 0o600
NAME_MAX_BYTES = 255  # what ext4, XFS and most file systems allow for one name


def root() -> Path:
    """The service's private folder (not created here)."""
    env = os.environ.get("AIDWATCH_PRIVATE_DIR")
    if env:
        return Path(env)
    configured = reference.storage_setting("private_dir")
    if configured:
        return Path(configured).expanduser()
    return Path(tempfile.gettempdir()) / f"aidwatch-{os.getuid()}"


def ensure_dir(path: Path) -> Path:
    """``path`` and any missing parents created 0700; an existing ``path`` checked to belong to
    this user and closed to others. Raises DropError (in Chinese) when it cannot be made so."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe.parent != probe:
        missing.append(probe)
        probe = probe.parent
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
            os.chmod(folder, DIR_MODE)  # mkdir's mode is reduced by the umask
        info = path.lstat()
    except OSError as exc:
        raise DropError(
            f"无法创建存放数据的文件夹（{os_reason(exc)}），请管理员检查 AIDWATCH_PRIVATE_DIR "
            "或 settings.toml 中 [storage] 的 private_dir 设置"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise DropError("存放数据的位置不是文件夹（可能是文件或符号链接），请管理员检查存储设置")
    if info.st_uid != os.getuid():
        raise DropError(
            "存放数据的文件夹属于其他系统用户，为保护个人信息已停止使用；"
            "请管理员删除该文件夹或在存储设置中另指定一个文件夹"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, DIR_MODE)
    return path


def write_file(path: Path, content: bytes) -> None:
    """``content`` written to ``path`` (mode 0600) whole or not at all."""
    partial = path.with_name(path.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an older partial file may have had other modes
        with os.fdopen(fd, "wb") as fh:
            fd = -1
            fh.write(content)
        os.replace(partial, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        partial.unlink(missing_ok=True)
        raise


def close_tree(path: Path) -> None:
    """Folders 0700 and files 0600 under ``path`` (what a run wrote with the default umask)."""
    for folder, _dirs, files in os.walk(path):
        os.chmod(folder, DIR_MODE)
        for name in files:
            os.chmod(os.path.join(folder, name), FILE_MODE)


def safe_name(name: str) -> str:
    """The last part of an uploaded file's name, or DropError when no file may be called so."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    shown = "".join(c if c.isprintable() else "?" for c in base)
    if len(shown) > 60:
        shown = shown[:40] + "…" + shown[-12:]
    if not base or base in (".", ".."):
        raise DropError("上传的文件没有文件名，请给文件起名后重新上传")
    if "\x00" in base or any(not c.isprintable() for c in base):
        raise DropError(f"上传的文件名“{shown}”含有空字符或控制字符，请改名后重新上传")
    if len(base.encode("utf-8")) > NAME_MAX_BYTES:
        raise DropError(
            f"上传的文件名“{shown}”过长（超过{NAME_MAX_BYTES}字节），请改用较短的文件名后重新上传"
        )
    return base
