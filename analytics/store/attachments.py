"""Files attached to triage moves (a verification report, a bank receipt): kept under the
workspace's attachments/ by their sha256, private to the service, listed in the database."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from analytics import private
from analytics.model import DropError
from analytics.store.models import Attachment
from analytics.store.workspace import Workspace

MAX_BYTES = 20 * 1024 * 1024  # a scanned page or a photo of a receipt, not a data drop


def add_attachment(ws: Workspace, name: str, content: bytes, *, by: str) -> str:
    """Keep one file; its sha256, to name it in a move's ``attachments``. The same bytes are
    kept once. Raises DropError (Chinese) for a name no file may have or a file too large."""
    name = private.safe_name(name)
    if len(content) > MAX_BYTES:
        raise DropError(f"附件 {name} 超过 {MAX_BYTES // (1024 * 1024)} MB，请压缩或拆分后再上传")
    sha = hashlib.sha256(content).hexdigest()
    target = ws.root / "attachments" / sha
    if not target.exists():
        private.write_file(target, content)
    with ws.store.session() as s:
        s.add(Attachment(sha256=sha, name=name, size=len(content), by=by))
    return sha


def attachment_names(ws: Workspace, shas: list[str]) -> dict[str, str]:
    """sha256 -> the name it was first uploaded under."""
    if not shas:
        return {}
    with ws.store.session() as s:
        rows = s.execute(
            select(Attachment.sha256, Attachment.name)
            .where(Attachment.sha256.in_(shas))
            .order_by(Attachment.id)
        ).all()
    out: dict[str, str] = {}
    for sha, name in rows:
        out.setdefault(sha, name)
    return out


def read_attachment(ws: Workspace, sha: str) -> bytes:
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise DropError("附件编号无效")
    return (ws.root / "attachments" / sha).read_bytes()
