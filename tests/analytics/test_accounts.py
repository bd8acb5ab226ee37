"""Local accounts on SQLite and PostgreSQL: argon2 hashes, validation, logins that do not tell
an unknown user from a wrong password, lockout, login sessions that expire, the demo accounts,
``aidwatch user`` and what reaches the audit log (never a password)."""

from __future__ import annotations

import argparse
import io
import json
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from analytics import accounts_cli, cli
from analytics.access import ROLES, Viewer
from analytics.reference import Accounts, load_settings
from analytics.store import accounts, audit
from analytics.store.accounts import BAD_LOGIN, DISABLED, EXISTING_DEMO, AccountError
from analytics.store.db import open_store
from analytics.store.models import LoginSession, User

PASSWORD = "Bund-Promenade-1921"
CFG = Accounts(
    password_min_length=12,
    lockout_failures=3,
    lockout_minutes=15,
    session_idle_minutes=30,
    session_max_hours=10,
)
T0 = datetime(2026, 12, 7, 9, 0, 0)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """A cheap argon2id for speed; the rehash test puts the real one back."""
    monkeypatch.setattr(
        accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.dispose()


def add(store, username="wang.fang", role="civil_affairs", password=PASSWORD, **kw):
    kw.setdefault("display_name", "王芳")
    return accounts.add_user(
        store, username=username, role=role, password=password, by="管理员甲", settings=CFG, **kw
    )


def audit_entries(store) -> list[dict]:
    """The audit log, oldest first, as its module reads it."""
    return [
        dict(
            actor=r["actor"],
            role=r["role"],
            action=r["action"],
            target=r["target"],
            detail=json.loads(r["detail"]),
        )
        for r in audit.entries_frame(store).sort("id").iter_rows(named=True)
    ]


def assert_no_secret(store, *secrets: str) -> None:
    text = json.dumps(audit_entries(store), ensure_ascii=False)
    for secret in secrets:
        assert secret not in text


# --- accounts ---------------------------------------------------------------------------------


def test_settings_have_the_accounts_section():
    cfg = load_settings().accounts
    assert cfg == Accounts(
        password_min_length=12,
        lockout_failures=5,
        lockout_minutes=15,
        session_idle_minutes=30,
        session_max_hours=10,
    )
    assert Accounts.from_toml({"lockout_failures": "7"}).lockout_failures == 7


def test_add_and_list_keep_only_an_argon2_hash(store):
    add(store, "Wang.Fang")
    add(store, "jiangsu", role="street", street="江苏路街道", display_name="李明")
    add(store, "housing", role="member_unit", unit="区住房保障局", display_name="赵强")
    users = accounts.list_users(store)
    assert users.columns == [
        "username",
        "display_name",
        "role",
        "role_label",
        "street",
        "unit",
        "disabled",
        "locked",
        "last_login_at",
        "created_at",
    ]
    assert users["username"].to_list() == ["housing", "jiangsu", "wang.fang"]  # lower case
    row = users.filter(username="jiangsu").row(0, named=True)
    assert (row["role"], row["role_label"], row["street"], row["unit"]) == (
        "street",
        "街镇",
        "江苏路街道",
        None,
    )
    assert users.filter(username="housing")["unit"].item() == "区住房保障局"
    assert not users["disabled"].any() and not users["locked"].any()
    assert users["last_login_at"].null_count() == 3
    with store.session() as s:
        hashes = s.scalars(select(User.password_hash)).all()
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
    listed = str(users.rows())
    assert "$argon2" not in listed and PASSWORD not in listed


def test_a_user_name_is_taken_whatever_its_case(store):
    add(store, "wang.fang")
    with pytest.raises(AccountError, match="用户名“wang.fang”已存在"):
        add(store, "WANG.FANG")


@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(username="ab"), "用户名应为 3–100 个字符"),
        (dict(username="王芳"), "只能包含字母、数字和 . _ -"),
        (dict(username="a b c"), "用户名应为"),
        (dict(username="x" * 101), "用户名应为"),
        (dict(display_name=" "), "请填写姓名"),
        (dict(role="boss"), "未知角色“boss”"),
        (dict(role="街镇"), "未知角色"),  # a label is the CLI's business
        (dict(role="street"), "街镇账号必须指定所属街镇"),
        (dict(role="street", street="南京路街道"), "未知街镇“南京路街道”"),
        (dict(role="discipline", street="江苏路街道"), "只有街镇账号可以指定街镇"),
        (dict(role="member_unit"), "成员单位账号必须指定单位名称"),
        (dict(role="admin", unit="区住房保障局"), "只有成员单位账号可以指定单位"),
        (dict(password="Short-1"), "密码至少需要 12 个字符"),
        (dict(password="x1" * 101), "密码不能超过 200 个字符"),
        (dict(username="wang.fang.2026", password="Wang.Fang.2026"), "密码不能与用户名相同"),
        (dict(password="abcdefghijklmn"), "至少两类"),
        (dict(password="12345678901234"), "至少两类"),
    ],
)
def test_add_refuses_what_is_not_acceptable(store, fields, message):
    with pytest.raises(AccountError, match=message):
        add(store, **fields)
    assert accounts.list_users(store).height == 0


def test_passwords_of_two_kinds_are_accepted(store):
    add(store, "a.digits", password="abcdefghijk1")
    add(store, "a.symbols", password="abcdefghijk!")
    add(store, "d.symbols", password="12345678901-")
    add(store, "chinese", password="救助资金监督审计台2026")
    assert accounts.list_users(store).height == 4


# --- logging in -------------------------------------------------------------------------------


def test_authenticate_gives_the_viewer_and_notes_the_login(store):
    add(store, "jiangsu", role="street", street="江苏路街道")
    who = accounts.authenticate(store, " JiangSu ", PASSWORD, now=T0, settings=CFG)
    # records name the person and the account: unambiguous when two people share a name
    assert who == Viewer(
        name="王芳（jiangsu）", role="street", street="江苏路街道", account="jiangsu"
    )
    assert accounts.list_users(store)["last_login_at"].item() == T0
    add(store, "housing", role="member_unit", unit="区住房保障局")
    assert accounts.authenticate(store, "housing", PASSWORD, settings=CFG).unit == "区住房保障局"


def test_unknown_user_and_wrong_password_look_the_same(store, monkeypatch):
    add(store)
    with pytest.raises(AccountError) as unknown:
        accounts.authenticate(store, "nobody", PASSWORD, settings=CFG)
    with pytest.raises(AccountError) as wrong:
        accounts.authenticate(store, "wang.fang", PASSWORD + "x", settings=CFG)
    with pytest.raises(AccountError) as empty:
        accounts.authenticate(store, "", "", settings=CFG)
    assert (
        str(unknown.value)
        == str(wrong.value)
        == str(empty.value)
        == BAD_LOGIN
        == "用户名或密码不正确"
    )

    verified = []

    class Spy(PasswordHasher):
        def verify(self, hash, password):
            verified.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(accounts, "HASHER", Spy(time_cost=1, memory_cost=1024, parallelism=1))
    with pytest.raises(AccountError):
        accounts.authenticate(store, "nobody", PASSWORD, settings=CFG)
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")  # the time is spent


def test_lockout_after_failures_in_a_row_and_unlock_after_the_time(store):
    add(store)

    def login(password, at):
        return accounts.authenticate(store, "wang.fang", password, now=at, settings=CFG)

    for i in range(CFG.lockout_failures - 1):
        with pytest.raises(AccountError, match=BAD_LOGIN):
            login("wrong-password-1", T0 + timedelta(seconds=i))
    login(PASSWORD, T0 + timedelta(seconds=10))  # a success resets the count
    for i in range(CFG.lockout_failures - 1):
        with pytest.raises(AccountError, match=BAD_LOGIN):
            login("wrong-password-1", T0 + timedelta(seconds=20 + i))
    with pytest.raises(AccountError) as locked:  # the third in a row locks
        login("wrong-password-1", T0 + timedelta(minutes=1))
    assert str(locked.value) == "登录失败次数过多，账号已锁定，请 15 分钟后再试"
    with pytest.raises(AccountError, match="请 10 分钟后再试"):  # the right password too
        login(PASSWORD, T0 + timedelta(minutes=6))
    assert accounts.list_users(store, now=T0 + timedelta(minutes=6))["locked"].item()
    assert not accounts.list_users(store, now=T0 + timedelta(minutes=17))["locked"].item()
    assert login(PASSWORD, T0 + timedelta(minutes=17)).account == "wang.fang"
    with store.session() as s:
        user = s.scalar(select(User))
        assert (user.failed_logins, user.locked_until) == (0, None)


def test_a_lock_ends_after_its_time_and_counts_afresh(store):
    add(store)
    for _ in range(CFG.lockout_failures):
        with pytest.raises(AccountError):
            accounts.authenticate(store, "wang.fang", "nope-nope-nope-1", now=T0, settings=CFG)
    later = T0 + timedelta(minutes=CFG.lockout_minutes + 1)
    with pytest.raises(AccountError, match=BAD_LOGIN):  # one failure does not lock again
        accounts.authenticate(store, "wang.fang", "nope-nope-nope-1", now=later, settings=CFG)
    assert accounts.authenticate(store, "wang.fang", PASSWORD, now=later, settings=CFG)


def test_a_disabled_account_cannot_log_in(store):
    add(store)
    accounts.set_disabled(store, "wang.fang", True, by="管理员甲")
    assert accounts.list_users(store)["disabled"].item()
    with pytest.raises(AccountError) as disabled:
        accounts.authenticate(store, "wang.fang", PASSWORD, settings=CFG)
    assert str(disabled.value) == DISABLED == "账号已停用，请联系管理员"
    with pytest.raises(AccountError, match=BAD_LOGIN):  # said only to who knows the password
        accounts.authenticate(store, "wang.fang", "wrong-password-1", settings=CFG)
    with pytest.raises(AccountError):
        accounts.start_session(store, "wang.fang", settings=CFG)
    accounts.set_disabled(store, "WANG.FANG", False, by="管理员甲")
    assert accounts.authenticate(store, "wang.fang", PASSWORD, settings=CFG).role == "civil_affairs"
    with pytest.raises(AccountError, match="找不到用户“nobody”"):
        accounts.set_disabled(store, "nobody", True, by="管理员甲")


def test_an_old_hash_is_rehashed_at_login(store, monkeypatch):
    add(store)
    with store.session() as s:
        cheap = s.scalar(select(User.password_hash))
    assert "m=1024,t=1,p=1" in cheap
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher())
    accounts.authenticate(store, "wang.fang", PASSWORD, settings=CFG)
    with store.session() as s:
        rehashed = s.scalar(select(User.password_hash))
    assert rehashed != cheap and rehashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert accounts.authenticate(store, "wang.fang", PASSWORD, settings=CFG)


def test_a_new_password_ends_sessions_and_clears_the_lock(store):
    add(store)
    token = accounts.start_session(store, "wang.fang", now=T0, settings=CFG)
    for _ in range(CFG.lockout_failures):
        with pytest.raises(AccountError):
            accounts.authenticate(store, "wang.fang", "wrong-password-1", settings=CFG)
    new = "Yan'an-Elevated-88"
    with pytest.raises(AccountError, match="密码至少需要"):
        accounts.set_password(store, "wang.fang", "short1", by="管理员甲", settings=CFG)
    accounts.set_password(store, "wang.fang", new, by="管理员甲", settings=CFG)
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=1), settings=CFG) is None
    with pytest.raises(AccountError, match=BAD_LOGIN):
        accounts.authenticate(store, "wang.fang", PASSWORD, settings=CFG)
    assert accounts.authenticate(store, "wang.fang", new, settings=CFG).account == "wang.fang"
    with pytest.raises(AccountError, match="找不到用户"):
        accounts.set_password(store, "nobody", new, by="管理员甲", settings=CFG)


# --- login sessions ---------------------------------------------------------------------------


def test_a_session_is_kept_by_the_digest_of_its_token(store):
    add(store, "jiangsu", role="street", street="江苏路街道")
    who = accounts.authenticate(store, "jiangsu", PASSWORD, settings=CFG)
    token = accounts.start_session(store, who, now=T0, settings=CFG)
    assert len(token) >= 40
    with store.session() as s:
        row = s.scalar(select(LoginSession))
        assert row.token_sha256 != token and len(row.token_sha256) == 64
        assert row.expires_at == T0 + timedelta(hours=10)
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=5), settings=CFG) == who
    assert accounts.resume(store, token + "x", now=T0, settings=CFG) is None
    assert accounts.resume(store, None, settings=CFG) is None
    assert accounts.start_session(store, who, now=T0, settings=CFG) != token


def test_a_session_ends_when_idle(store):
    add(store)
    token = accounts.start_session(store, "wang.fang", now=T0, settings=CFG)
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=29), settings=CFG)
    # idle counts from the last use
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=58), settings=CFG)
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=89), settings=CFG) is None
    # and once ended it stays ended
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=90), settings=CFG) is None


def test_a_session_ends_at_its_absolute_limit(store):
    add(store)
    token = accounts.start_session(store, "wang.fang", now=T0, settings=CFG)
    at = T0
    while at + timedelta(minutes=20) < T0 + timedelta(hours=10):
        at += timedelta(minutes=20)
        assert accounts.resume(store, token, now=at, settings=CFG), at
    assert accounts.resume(store, token, now=T0 + timedelta(hours=10), settings=CFG) is None


def test_a_session_ends_at_logout(store):
    add(store)
    token = accounts.start_session(store, "wang.fang", now=T0, settings=CFG)
    accounts.end_session(store, token, now=T0 + timedelta(minutes=1))
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=2), settings=CFG) is None
    accounts.end_session(store, token)  # again, or unknown: nothing happens
    accounts.end_session(store, "no-such-token")
    assert [e["action"] for e in audit_entries(store)].count("logout") == 1


def test_a_disabled_users_session_stops_resuming(store):
    add(store)
    token = accounts.start_session(store, "wang.fang", now=T0, settings=CFG)
    other = accounts.start_session(store, "wang.fang", now=T0, settings=CFG)
    assert accounts.resume(store, token, now=T0, settings=CFG)
    with store.session() as s:  # disabled behind the sessions' back
        s.execute(User.__table__.update().values(disabled=True))
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=1), settings=CFG) is None
    accounts.set_disabled(store, "wang.fang", False, by="管理员甲")
    assert accounts.resume(store, token, now=T0 + timedelta(minutes=2), settings=CFG) is None
    assert accounts.resume(store, other, now=T0 + timedelta(minutes=2), settings=CFG)
    accounts.set_disabled(store, "wang.fang", True, by="管理员甲")  # ends every session
    accounts.set_disabled(store, "wang.fang", False, by="管理员甲")
    assert accounts.resume(store, other, now=T0 + timedelta(minutes=3), settings=CFG) is None


# --- the demo ---------------------------------------------------------------------------------


def test_demo_accounts_one_per_role_and_idempotent(store):
    made = accounts.demo_accounts(store, by="make demo", settings=CFG)
    assert [label for _, label, _ in made] == list(ROLES.values())
    for username, _, password in made:
        assert accounts.password_problem(password, username, settings=CFG) is None
        who = accounts.authenticate(store, username, password, settings=CFG)
        if who.role == "street":
            assert who.street == "江苏路街道"
        if who.role == "member_unit":
            assert who.unit
    again = accounts.demo_accounts(store, by="make demo", settings=CFG)
    assert again == [(u, label, EXISTING_DEMO) for u, label, _ in made]
    assert EXISTING_DEMO == "（已存在，密码未变）"
    assert accounts.list_users(store).height == len(ROLES)
    assert_no_secret(store, *(p for _, _, p in made))


# --- the audit log ----------------------------------------------------------------------------


def test_logins_failures_locks_and_changes_reach_the_audit_log_without_passwords(store):
    add(store)
    accounts.authenticate(store, "wang.fang", PASSWORD, settings=CFG)
    with pytest.raises(AccountError):
        accounts.authenticate(store, "nobody", "Guessed-Password-1", settings=CFG)
    for _ in range(CFG.lockout_failures):
        with pytest.raises(AccountError):
            accounts.authenticate(store, "wang.fang", "Wrong-Password-2", settings=CFG)
    new = "Changning-Road-2027"
    accounts.set_password(store, "wang.fang", new, by="管理员甲", settings=CFG)
    token = accounts.start_session(
        store, accounts.authenticate(store, "wang.fang", new, settings=CFG), settings=CFG
    )
    accounts.end_session(store, token)
    accounts.set_disabled(store, "wang.fang", True, by="管理员甲")
    accounts.set_disabled(store, "wang.fang", False, by="管理员甲")

    entries = audit_entries(store)
    assert [e["action"] for e in entries] == [
        "user_add",
        "login",
        "login_failed",
        *["login_failed"] * CFG.lockout_failures,
        "locked",
        "user_passwd",
        "login",
        "logout",
        "user_disable",
        "user_enable",
    ]
    assert entries[0]["actor"] == "管理员甲" and entries[0]["target"] == "wang.fang"
    assert entries[0]["detail"]["role"] == "civil_affairs"
    assert entries[1] == dict(
        actor="wang.fang", role="civil_affairs", action="login", target="wang.fang", detail={}
    )
    assert entries[2]["target"] == "nobody" and entries[3]["target"] == "wang.fang"
    assert entries[-1]["actor"] == "管理员甲"
    assert_no_secret(store, PASSWORD, new, "Guessed-Password-1", "Wrong-Password-2", "$argon2")
    assert audit.verify(store) == []


# --- aidwatch user ----------------------------------------------------------------------------


@pytest.fixture
def user_cmd(db_url, tmp_path, monkeypatch, capsys):
    """``user_cmd(*argv, stdin="") -> (status, stdout, stderr)`` over the test's database."""
    if db_url.startswith("postgresql"):
        monkeypatch.setenv("AIDWATCH_DATABASE_URL", db_url)
    parser = argparse.ArgumentParser(prog="aidwatch")
    accounts_cli.register(parser.add_subparsers(dest="command", required=True))

    def call(*argv, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        args = parser.parse_args(["user", *argv, "--workspace", str(tmp_path / "ws")])
        try:
            status = args.run(args)
        finally:
            while cli._OPENED:
                cli._OPENED.pop().close()
        out, err = capsys.readouterr()
        return status, out, err

    return call


def test_cli_add_list_disable_enable_passwd(user_cmd, tmp_path):
    status, out, err = user_cmd(
        "add",
        "Li.Ming",
        "--name",
        "李明",
        "--role",
        "街镇",
        "--street",
        "江苏路街道",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert (status, err) == (0, "") and "li.ming" in out
    status, out, _ = user_cmd(
        "add",
        "admin1",
        "--name",
        "管理员",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert status == 0
    status, out, _ = user_cmd("list")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("用户名\t姓名\t角色")
    assert "li.ming\t李明\t街镇\t江苏路街道\t正常\t—" in lines
    assert PASSWORD not in out and "$argon2" not in out

    assert user_cmd("disable", "li.ming")[0] == 0
    assert "li.ming\t李明\t街镇\t江苏路街道\t停用\t—" in user_cmd("list")[1]
    assert user_cmd("enable", "li.ming")[0] == 0
    new = "Xianxia-Road-1985"
    status, out, err = user_cmd("passwd", "li.ming", "--password-stdin", stdin=new + "\n")
    assert status == 0 and new not in out + err

    ws = cli._workspace(argparse.Namespace(workspace=tmp_path / "ws"))
    try:
        assert accounts.authenticate(ws.store, "li.ming", new).street == "江苏路街道"
        assert_no_secret(ws.store, PASSWORD, new)
    finally:
        cli._OPENED.remove(ws)
        ws.close()


def test_cli_refusals_say_why_on_stderr(user_cmd, monkeypatch):
    status, out, err = user_cmd(
        "add",
        "li.ming",
        "--name",
        "李明",
        "--role",
        "街镇",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert (status, out) == (2, "") and err == "错误：街镇账号必须指定所属街镇\n"
    status, _, err = user_cmd(
        "add",
        "li.ming",
        "--name",
        "李明",
        "--role",
        "局长",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert status == 2 and err.startswith("错误：未知角色“局长”")
    status, _, err = user_cmd(
        "add", "li.ming", "--name", "李明", "--role", "admin", "--password-stdin", stdin="short\n"
    )
    assert status == 2 and err == "错误：密码至少需要 12 个字符\n"
    status, _, err = user_cmd(
        "add", "li.ming", "--name", "李明", "--role", "admin", "--password-stdin", stdin=""
    )
    assert status == 2 and err == "错误：未从标准输入读到密码\n"
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    status, _, err = user_cmd("add", "li.ming", "--name", "李明", "--role", "admin")
    assert status == 2 and err == "错误：两次输入的密码不一致\n" and PASSWORD not in err
    assert user_cmd("disable", "nobody")[2] == "错误：找不到用户“nobody”\n"
    answers = iter([PASSWORD, PASSWORD])
    assert user_cmd("add", "li.ming", "--name", "李明", "--role", "admin")[0] == 0
    assert (
        user_cmd(
            "add",
            "li.ming",
            "--name",
            "李明",
            "--role",
            "admin",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )[2]
        == "错误：用户名“li.ming”已存在\n"
    )


def test_cli_demo_accounts_prints_the_generated_passwords_once(user_cmd):
    status, out, _ = user_cmd("demo-accounts")
    assert status == 0
    rows = [line.split("\t") for line in out.splitlines()[2:]]
    assert [r[1] for r in rows] == list(ROLES.values())
    assert all(len(r[2]) >= 12 and r[2] != EXISTING_DEMO for r in rows)
    status, out, _ = user_cmd("demo-accounts")
    rows = [line.split("\t") for line in out.splitlines()[2:]]
    assert status == 0 and all(r[2] == EXISTING_DEMO for r in rows)
