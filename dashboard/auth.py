"""Login: who is looking, decided before any page is served.

Two ways, chosen by the deployment:

- **OIDC** (a deployment): Streamlit's native ``st.login`` / ``st.user``, configured under
  ``[auth]`` in ``.streamlit/secrets.toml``; the role, the street and the unit come from the
  identity provider's claims, whose names are set in ``[oidc]`` of the settings.
- **Local accounts** (the embedded default): a user name and password checked against the
  workspace database (analytics.store.accounts, argon2 hashes, lockout); the login session lives
  in the database by the digest of a token kept in this browser session, and expires.

The viewer (analytics.access.Viewer) is kept in ``st.session_state[VIEWER_KEY]`` for the pages;
access decisions are made by analytics.access and the services, never here.
"""

from __future__ import annotations

import logging

import streamlit as st

from analytics import access, reference
from analytics.access import ROLE_CODES, ROLES, Viewer

VIEWER_KEY = "auth_viewer"
TOKEN_KEY = "auth_token"
NOTICE_KEY = "auth_notice"
COOKIE = "aidwatch_session"
COOKIE_PENDING_KEY = "auth_cookie_pending"  # "set" after a login, "clear" after a logout
log = logging.getLogger(__name__)


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: not configured
        return False


def viewer() -> Viewer | None:
    """The viewer of this browser session, as the login decided it (None: nobody)."""
    value = st.session_state.get(VIEWER_KEY)
    return value if isinstance(value, Viewer) else None


def _claims_viewer() -> Viewer | None:
    """The viewer an OIDC login names, from the claims the settings point at; None (and why,
    on the login page) when a claim is missing or names no known role or street."""
    settings = reference.load_settings().oidc
    user = st.user
    role = str(user.get(settings.role_claim) or "").strip()
    role = ROLE_CODES.get(role, role)
    street = str(user.get(settings.street_claim) or "").strip() or None
    unit = str(user.get(settings.unit_claim) or "").strip() or None
    name = str(user.get(settings.name_claim) or user.get("email") or "").strip()
    from analytics.schema import STREETS

    if role not in ROLES or (role == "street" and street not in STREETS) or not name:
        st.session_state[NOTICE_KEY] = (
            "身份认证已通过，但账号未分配有效的角色或街镇，请联系管理员。"
        )
        return None
    return Viewer(
        name=name,
        role=role,
        street=street if role == "street" else None,
        unit=unit if role == "member_unit" else None,
    )


def resolve(ws) -> Viewer | None:
    """Who is looking now: from the OIDC login, or from this session's local login while it is
    alive. Sets (or clears) the viewer the pages read."""
    if oidc_configured():
        current = _claims_viewer() if st.user.is_logged_in else None
    else:
        from analytics.store import accounts

        # This browser session's token, or the one its cookie carries from an earlier tab or a
        # reload (a random token: the database keeps only its digest, and ends it on expiry).
        token = st.session_state.get(TOKEN_KEY)
        if not token and st.session_state.get(COOKIE_PENDING_KEY) != "clear":
            token = _cookie_token()
        current = accounts.resume(ws.store, token) if token else None
        if token and current is None:
            st.session_state.pop(TOKEN_KEY, None)
            st.session_state[COOKIE_PENDING_KEY] = "clear"
            st.session_state[NOTICE_KEY] = "登录已过期，请重新登录。"
        elif current is not None:
            st.session_state[TOKEN_KEY] = token
    if current is None:
        st.session_state.pop(VIEWER_KEY, None)
    else:
        st.session_state[VIEWER_KEY] = current
    return current


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser context (a script run outside a server)
        return None
    return value if isinstance(value, str) and 20 <= len(value) <= 100 else None


def sync_cookie() -> None:
    """Write or clear the login cookie in the browser once after a login or a logout, so that
    a reload or a link opened in another tab stays logged in until the session ends. The token
    is random and means nothing without the database; the cookie is SameSite=Strict."""
    pending = st.session_state.pop(COOKIE_PENDING_KEY, None)
    if pending is None:
        return
    import json

    from streamlit.components.v1 import html

    if pending == "set" and st.session_state.get(TOKEN_KEY):
        hours = reference.load_settings().accounts.session_max_hours
        value = (
            f"{COOKIE}={st.session_state[TOKEN_KEY]}; path=/; SameSite=Strict; "
            f"max-age={int(hours * 3600)}"
        )
    else:
        value = f"{COOKIE}=; path=/; SameSite=Strict; max-age=0"
    secure = "+(parent.location.protocol === 'https:' ? '; Secure' : '')"
    html(f"<script>parent.document.cookie = {json.dumps(value)}{secure};</script>", height=0)


def login_page() -> None:
    """The only page a visitor who is not logged in is served."""
    sync_cookie()  # a logout's cookie is cleared here
    st.title("救助资金监督审计台")
    st.caption(
        "本系统含有救助对象的敏感个人信息，仅限授权人员使用；登录、查看和导出均记入审计日志。"
    )
    if notice := st.session_state.pop(NOTICE_KEY, None):
        st.warning(notice)
    if oidc_configured():
        st.button("通过统一身份认证登录", type="primary", on_click=st.login, key="auth_oidc")
        if st.user.is_logged_in:  # authenticated, but no role here: let them switch accounts
            st.button("退出统一身份认证", on_click=st.logout, key="auth_oidc_logout")
        return
    from analytics.store import accounts
    from dashboard import data

    with st.form("auth_login", enter_to_submit=True):
        username = st.text_input("用户名", max_chars=100, key="auth_username")
        password = st.text_input("密码", type="password", max_chars=200, key="auth_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        ws = data.workspace()
        try:
            who = accounts.authenticate(ws.store, username.strip(), password)
        except accounts.AccountError as exc:
            st.error(str(exc))
            return
        from analytics.store import audit

        audit.note_settings(ws.store, by=who.name)
        st.session_state[TOKEN_KEY] = accounts.start_session(ws.store, who)
        st.session_state[VIEWER_KEY] = who
        st.session_state[COOKIE_PENDING_KEY] = "set"
        st.session_state.pop("auth_password", None)
        st.rerun()


def login_page_at(address: str):
    """The login page served at another page's address (Streamlit tells pages apart by their
    function, so each address gets its own)."""

    def page() -> None:
        login_page()

    page.__name__ = page.__qualname__ = f"login_at_{address}"
    return page


def logout(ws) -> None:
    if oidc_configured():
        st.session_state.pop(VIEWER_KEY, None)
        st.logout()
        return
    from analytics.store import accounts

    token = st.session_state.pop(TOKEN_KEY, None)
    if token:
        accounts.end_session(ws.store, token)
    st.session_state.pop(VIEWER_KEY, None)
    st.session_state[COOKIE_PENDING_KEY] = "clear"
    st.rerun()


def require_page(page: str) -> Viewer:
    """The viewer, if they may open ``page``; otherwise the page says so and stops. Every page
    calls it first, so that a page reached by any road (a link, a test, a future menu) checks."""
    who = viewer()
    if who is None or not access.may_open(who, page):
        st.error("当前账号无权查看本页。" if who else "请先登录。")
        st.stop()
    return who
