"""The settings are read again once the file changes: a running server (检查规则's parameters,
the triage deadlines) follows an administrator's edit without a restart."""

from __future__ import annotations

import os
import shutil

from analytics.reference import PROJECT_ROOT, load_settings


def test_an_edited_settings_file_is_read_again(tmp_path):
    path = tmp_path / "settings.toml"
    shutil.copy(PROJECT_ROOT / "data" / "settings.toml", path)
    before = load_settings(path)
    assert before.small_amount_cap_fen == 50_000
    assert load_settings(path) is before  # unchanged: the same object, not read again

    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("small_amount_cap_yuan = 500", "small_amount_cap_yuan = 800"),
        encoding="utf-8",
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a later edit

    after = load_settings(path)
    assert after.small_amount_cap_fen == 80_000
    assert after.payment_due_day == before.payment_due_day
