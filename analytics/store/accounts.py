"""Local accounts: the embedded default's users, passwords, lockout and login sessions.

A password is kept only as an argon2id hash (argon2-cffi's defaults, rehashed at the next login
when those change). A login that fails says the same thing for an unknown user and a wrong
password, and spends the same hashing time on both; ``lockout_failures`` failures in a row lock
the account for ``lockout_minutes``. A login session is kept by the sha256 of its token (the
token lives only in the browser session); it ends after ``session_idle_minutes`` without use, at
the latest ``session_max_hours`` after the login, when the user logs out, is disabled or has
the password changed. The limits are the settings' ``[accounts]`` section.

User names are kept in lower case: ``Wang.Fang`` and ``wang.fang`` are one account. The viewer
a login yields (analytics.access.Viewer) is named by the user name, unique and stable, so that
what it records is traceable to one account. Logins, failures, locks, logouts and account
changes go to the audit log (analytics.store.audit); a password never does.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from polars._typing import PolarsDataType
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from analytics.access import ROLES, Viewer
from analytics.schema import STREETS
from analytics.store import audit
from analytics.store.db import Store
from analytics.store.models import LoginSession, User, utcnow

HASHER = PasswordHasher()  # argon2id; tests may put a cheaper one here
PASSWORD_MAX_LENGTH = 200  # what the login form accepts
USERNAME_RE = re.compile(r"[a-z0-9._-]{3,100}")

BAD_LOGIN = "用户名或密码不正确"
DISABLED = "账号已停用，请联系管理员"
LOCKED = "登录失败次数过多，账号已锁定，请 {minutes} 分钟后再试"
EXISTING_DEMO = "（已存在，密码未变）"

DEMO_STREET = "江苏路街道"
DEMO_UNIT = "区住房保障局"


class AccountError(ValueError):
    """An account operation refused, or a login that failed (Chinese message)."""


def _settings(settings=None):
    if settings is not None:
        return settings
    from analytics.reference import load_settings

    return load_settings().accounts


def _normal(username: str) -> str:
    return (username or "").strip().lower()


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash of a password nobody has, made with the hasher in force: verified against for an
    unknown user, so that such a login costs as much time as a wrong password."""
    key = f"{HASHER.time_cost}/{HASHER.memory_cost}/{HASHER.parallelism}/{HASHER.type}"
    if key not in _DUMMY:
        _DUMMY[key] = HASHER.hash(secrets.token_urlsafe(24))
    return _DUMMY[key]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- validation -------------------------------------------------------------------------------


def password_problem(password: str, username: str | None = None, *, settings=None) -> str | None:
    """Why this password may not be used (Chinese), or None."""
    cfg = _settings(settings)
    if not isinstance(password, str) or len(password) < cfg.password_min_length:
        return f"密码至少需要 {cfg.password_min_length} 个字符"
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"密码不能超过 {PASSWORD_MAX_LENGTH} 个字符"
    if username and password.strip().lower() == _normal(username):
        return "密码不能与用户名相同"
    kinds = (
        any(c.isalpha() for c in password)
        + any(c.isdigit() for c in password)
        + any(not c.isalnum() for c in password)
    )
    if kinds < 2:
        return "密码须包含字母、数字、其他符号中的至少两类"
    return None


def _check_password(password: str, username: str, settings) -> None:
    if problem := password_problem(password, username, settings=settings):
        raise AccountError(problem)


def _check_fields(
    username: str, display_name: str, role: str, street: str | None, unit: str | None
) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise AccountError("用户名应为 3–100 个字符，只能包含字母、数字和 . _ -")
    if not display_name:
        raise AccountError("请填写姓名")
    if len(display_name) > 100:
        raise AccountError("姓名不能超过 100 个字符")
    if role not in ROLES:
        raise AccountError(f"未知角色“{role}”，应为{'、'.join(ROLES.values())}之一")
    if role == "street":
        if not street:
            raise AccountError("街镇账号必须指定所属街镇")
        if street not in STREETS:
            raise AccountError(f"未知街镇“{street}”，应为{'、'.join(STREETS)}之一")
    elif street:
        raise AccountError("只有街镇账号可以指定街镇")
    if role == "member_unit":
        if not unit:
            raise AccountError("成员单位账号必须指定单位名称")
        if len(unit) > 200:
            raise AccountError("单位名称不能超过 200 个字符")
    elif unit:
        raise AccountError("只有成员单位账号可以指定单位")


# --- accounts ---------------------------------------------------------------------------------


def add_user(
    store: Store,
    *,
    username: str,
    display_name: str,
    role: str,
    street: str | None = None,
    unit: str | None = None,
    password: str,
    by: str,
    settings=None,
) -> int:
    """A new account; its id. Refused (AccountError) when a field or the password is not
    acceptable or the user name is taken."""
    cfg = _settings(settings)
    username = _normal(username)
    display_name = (display_name or "").strip()
    street = (street or "").strip() or None
    unit = (unit or "").strip() or None
    _check_fields(username, display_name, role, street, unit)
    _check_password(password, username, cfg)
    password_hash = HASHER.hash(password)
    taken = AccountError(f"用户名“{username}”已存在")
    try:
        with store.session() as s:
            if s.scalar(select(exists().where(User.username == username))):
                raise taken
            user = User(
                username=username,
                display_name=display_name,
                role=role,
                street=street,
                unit=unit,
                password_hash=password_hash,
                disabled=False,
                failed_logins=0,
                created_by=by,
            )
            s.add(user)
            s.flush()
            user_id = user.id
    except IntegrityError:  # added by someone else at the same moment
        raise taken from None
    audit.record(
        store,
        actor=by,
        action="user_add",
        target=username,
        detail={"role": role, "street": street, "unit": unit},
    )
    return user_id


USERS_SCHEMA: dict[str, PolarsDataType] = {
    "username": pl.String,
    "display_name": pl.String,
    "role": pl.String,
    "role_label": pl.String,
    "street": pl.String,
    "unit": pl.String,
    "disabled": pl.Boolean,
    "locked": pl.Boolean,
    "last_login_at": pl.Datetime("us"),
    "created_at": pl.Datetime("us"),
}


def list_users(store: Store, *, now: datetime | None = None) -> pl.DataFrame:
    """Every account, by user name; ``locked``: locked out at ``now``. No password hash."""
    now = now or utcnow()
    with store.session() as s:
        rows = s.execute(
            select(
                User.username,
                User.display_name,
                User.role,
                User.street,
                User.unit,
                User.disabled,
                User.locked_until,
                User.last_login_at,
                User.created_at,
            ).order_by(User.username)
        ).all()
    return pl.DataFrame(
        [
            (
                r.username,
                r.display_name,
                r.role,
                ROLES.get(r.role, r.role),
                r.street,
                r.unit,
                bool(r.disabled),
                r.locked_until is not None and r.locked_until > now,
                r.last_login_at,
                r.created_at,
            )
            for r in rows
        ],
        schema=USERS_SCHEMA,
        orient="row",
    )


def _user_id(s, username: str) -> int:
    user_id = s.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise AccountError(f"找不到用户“{username}”")
    return user_id


def _end_sessions(s, user_id: int, now: datetime) -> int:
    return s.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    ).rowcount


def set_disabled(store: Store, username: str, disabled: bool, *, by: str) -> None:
    """Disable (its sessions end) or enable an account."""
    username = _normal(username)
    now = utcnow()
    with store.session() as s:
        user_id = _user_id(s, username)
        s.execute(update(User).where(User.id == user_id).values(disabled=bool(disabled)))
        if disabled:
            _end_sessions(s, user_id, now)
    audit.record(
        store, actor=by, action="user_disable" if disabled else "user_enable", target=username
    )


def set_password(store: Store, username: str, password: str, *, by: str, settings=None) -> None:
    """A new password: the failure count and any lock are cleared, and every session of the
    user ends."""
    cfg = _settings(settings)
    username = _normal(username)
    _check_password(password, username, cfg)
    password_hash = HASHER.hash(password)
    now = utcnow()
    with store.session() as s:
        user_id = _user_id(s, username)
        s.execute(
            update(User)
            .where(User.id == user_id)
            .values(
                password_hash=password_hash,
                password_changed_at=now,
                failed_logins=0,
                locked_until=None,
            )
        )
        ended = _end_sessions(s, user_id, now)
    audit.record(
        store, actor=by, action="user_passwd", target=username, detail={"sessions_ended": ended}
    )


# --- logging in -------------------------------------------------------------------------------


def _viewer(user) -> Viewer:
    """The account as a viewer: records name the person as 显示名（用户名）, unambiguous even
    when two people share a name."""
    name = (
        f"{user.display_name}（{user.username}）"
        if user.display_name != user.username
        else user.username
    )
    return Viewer(
        name=name,
        role=user.role,
        account=user.username,
        street=user.street if user.role == "street" else None,
        unit=user.unit if user.role == "member_unit" else None,
    )


def _locked_message(until: datetime, now: datetime) -> str:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return LOCKED.format(minutes=minutes)


def authenticate(
    store: Store, username: str, password: str, *, now: datetime | None = None, settings=None
) -> Viewer:
    """The viewer of this user name and password, or AccountError: one message for an unknown
    user and a wrong password; its own for a disabled or locked account."""
    cfg = _settings(settings)
    now = now or utcnow()
    username = _normal(username)
    password = password if isinstance(password, str) else ""
    with store.session() as s:
        user = s.scalar(select(User).where(User.username == username)) if username else None
    target = username[:200] or None

    if user is None:
        _verify(_dummy_hash(), password)  # the same time as a wrong password
        audit.record(
            store,
            actor=target or "（空）",
            action="login_failed",
            target=target,
            detail={"reason": "unknown_user"},
        )
        raise AccountError(BAD_LOGIN)

    if user.locked_until is not None and user.locked_until > now:
        audit.record(
            store,
            actor=username,
            role=user.role,
            action="login_failed",
            target=username,
            detail={"reason": "locked"},
        )
        raise AccountError(_locked_message(user.locked_until, now))

    if not _verify(user.password_hash, password):
        locked_until = None
        with store.session() as s:
            s.execute(
                update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
            )
            failures = s.scalar(select(User.failed_logins).where(User.id == user.id))
            if failures >= cfg.lockout_failures:
                locked_until = now + timedelta(minutes=cfg.lockout_minutes)
                s.execute(
                    update(User)
                    .where(User.id == user.id)
                    .values(failed_logins=0, locked_until=locked_until)
                )
        audit.record(
            store,
            actor=username,
            role=user.role,
            action="login_failed",
            target=username,
            detail={"reason": "wrong_password", "failures": failures},
        )
        if locked_until is not None:
            audit.record(
                store,
                actor=username,
                role=user.role,
                action="locked",
                target=username,
                detail={"failures": failures, "minutes": cfg.lockout_minutes},
            )
            raise AccountError(_locked_message(locked_until, now))
        raise AccountError(BAD_LOGIN)

    if user.disabled:
        audit.record(
            store,
            actor=username,
            role=user.role,
            action="login_failed",
            target=username,
            detail={"reason": "disabled"},
        )
        raise AccountError(DISABLED)

    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    try:
        if HASHER.check_needs_rehash(user.password_hash):
            values["password_hash"] = HASHER.hash(password)
    except InvalidHashError:
        pass
    with store.session() as s:
        # a rehash only over the hash just verified, never over a password changed meanwhile
        if "password_hash" in values:
            s.execute(
                update(User)
                .where(User.id == user.id, User.password_hash == user.password_hash)
                .values(password_hash=values.pop("password_hash"))
            )
        s.execute(update(User).where(User.id == user.id).values(**values))
    audit.record(store, actor=username, role=user.role, action="login", target=username)
    return _viewer(user)


# --- login sessions ---------------------------------------------------------------------------


def start_session(
    store: Store, viewer_or_username: Viewer | str, *, now: datetime | None = None, settings=None
) -> str:
    """A new login session of this user (a Viewer from :func:`authenticate`, or a user name):
    its token, to be kept by the browser session only; the database keeps its digest."""
    cfg = _settings(settings)
    now = now or utcnow()
    name = (
        viewer_or_username.account or viewer_or_username.name
        if isinstance(viewer_or_username, Viewer)
        else viewer_or_username
    )
    username = _normal(name)
    token = secrets.token_urlsafe(32)
    with store.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None or user.disabled:
            raise AccountError(f"找不到可用的用户“{username}”")
        s.add(
            LoginSession(
                token_sha256=_token_digest(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=cfg.session_max_hours),
            )
        )
    return token


def resume(
    store: Store, token: str | None, *, now: datetime | None = None, settings=None
) -> Viewer | None:
    """The viewer of a login session still alive (not ended, not past its absolute limit, used
    within the idle limit, its user not disabled), its use noted; else None, and the session
    ends."""
    if not token:
        return None
    cfg = _settings(settings)
    now = now or utcnow()
    with store.session() as s:
        row = s.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_sha256 == _token_digest(token))
        ).first()
        if row is None:
            return None
        session, user = row
        alive = (
            session.ended_at is None
            and now < session.expires_at
            and now - session.last_seen_at <= timedelta(minutes=cfg.session_idle_minutes)
            and not user.disabled
        )
        if not alive:
            if session.ended_at is None:
                session.ended_at = now
            return None
        session.last_seen_at = max(now, session.last_seen_at)
        return _viewer(user)


def end_session(store: Store, token: str | None, *, now: datetime | None = None) -> None:
    """Log out: the session ends (a token unknown or already ended: nothing happens)."""
    if not token:
        return
    now = now or utcnow()
    with store.session() as s:
        row = s.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_sha256 == _token_digest(token))
        ).first()
        if row is None or row[0].ended_at is not None:
            return
        session, user = row
        session.ended_at = now
        username, role = user.username, user.role
    audit.record(store, actor=username, role=role, action="logout", target=username)


# --- the demo ---------------------------------------------------------------------------------

DEMO_USERS: dict[str, tuple[str, str]] = {  # role -> (user name, display name)
    "discipline": ("discipline", "演示·纪检监督"),
    "civil_affairs": ("civil_affairs", "演示·民政监督"),
    "street": ("street", f"演示·{DEMO_STREET}"),
    "joint_office": ("joint_office", "演示·联席办"),
    "member_unit": ("member_unit", f"演示·{DEMO_UNIT}"),
    "admin": ("admin", "演示·管理员"),
}


def generate_password(username: str = "", *, length: int | None = None, settings=None) -> str:
    """A random password that the password rule accepts."""
    cfg = _settings(settings)
    length = max(length or 16, cfg.password_min_length)
    while True:
        password = secrets.token_urlsafe(length)[:length]
        if password_problem(password, username, settings=cfg) is None:
            return password


def demo_accounts(store: Store, *, by: str, settings=None) -> list[tuple[str, str, str]]:
    """One account per role for the demo (the 街镇 one of 江苏路街道, the 成员单位 one of a
    housing office), made when absent: (user name, role label, password). An account that
    already exists is left as it is, its password given as 「（已存在，密码未变）」."""
    cfg = _settings(settings)
    out = []
    for role, (username, display_name) in DEMO_USERS.items():
        with store.session() as s:
            present = s.scalar(select(exists().where(User.username == username)))
        if present:
            out.append((username, ROLES[role], EXISTING_DEMO))
            continue
        password = generate_password(username, settings=cfg)
        try:
            add_user(
                store,
                username=username,
                display_name=display_name,
                role=role,
                street=DEMO_STREET if role == "street" else None,
                unit=DEMO_UNIT if role == "member_unit" else None,
                password=password,
                by=by,
                settings=cfg,
            )
        except AccountError:  # made by someone else at the same moment
            out.append((username, ROLES[role], EXISTING_DEMO))
            continue
        out.append((username, ROLES[role], password))
    return out
