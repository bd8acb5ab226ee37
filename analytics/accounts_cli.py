"""``aidwatch user``: local accounts from the command line (analytics.store.accounts).

```
aidwatch user add USERNAME --name 姓名 --role 角色 [--street 街镇] [--unit 单位] [--password-stdin]
aidwatch user list
aidwatch user disable USERNAME | enable USERNAME
aidwatch user passwd USERNAME [--password-stdin]
aidwatch user demo-accounts          # make demo: one account per role, passwords printed
```

A password is asked twice without echo, or read as one line from standard input with
``--password-stdin``; it is never printed, except the generated ones of the demo accounts.
Whoever runs the command is recorded as the operating-system user.
"""

from __future__ import annotations

import argparse
import getpass
import sys


def register(sub) -> None:
    """Add ``user`` and its subcommands to the ``aidwatch`` subparsers ``sub``. The parsed
    arguments carry ``run``: ``args.run(args)`` handles the command (exit status)."""
    from analytics.cli import _workspace_option

    u = sub.add_parser("user", help="管理本地账号（添加、列出、停用、启用、改密码）")
    u.set_defaults(run=run)
    user_sub = u.add_subparsers(dest="user_command", required=True)

    a = user_sub.add_parser("add", help="添加账号")
    a.add_argument("username", metavar="用户名", help="3–100 个字母、数字或 . _ -")
    a.add_argument("--name", required=True, metavar="姓名", help="账号使用人的姓名")
    a.add_argument(
        "--role",
        required=True,
        metavar="角色",
        help="角色：" + "、".join(_role_labels()) + "（或其代码）",
    )
    a.add_argument("--street", default=None, metavar="街镇", help="街镇账号的所属街镇")
    a.add_argument("--unit", default=None, metavar="单位", help="成员单位账号的单位名称")
    _password_option(a)
    _workspace_option(a)

    ls = user_sub.add_parser("list", help="列出账号")
    _workspace_option(ls)

    for name, text in (("disable", "停用账号（其登录会话随即结束）"), ("enable", "启用账号")):
        p = user_sub.add_parser(name, help=text)
        p.add_argument("username", metavar="用户名", help="账号的用户名")
        _workspace_option(p)

    pw = user_sub.add_parser("passwd", help="设置新密码（该账号的登录会话随即结束，锁定解除）")
    pw.add_argument("username", metavar="用户名", help="账号的用户名")
    _password_option(pw)
    _workspace_option(pw)

    d = user_sub.add_parser("demo-accounts", help="为演示创建每种角色各一个账号并显示其密码")
    _workspace_option(d)


def _role_labels() -> list[str]:
    from analytics.access import ROLES

    return list(ROLES.values())


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin", action="store_true", help="从标准输入读取密码（一行），不交互询问"
    )


class _Refused(Exception):
    """A command refused before it reached the accounts (Chinese message)."""


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise _Refused("未从标准输入读到密码")
        return password
    try:
        first = getpass.getpass("密码：")
        second = getpass.getpass("再次输入密码：")
    except EOFError:
        raise _Refused("未能读取密码（可改用 --password-stdin）") from None
    if first != second:
        raise _Refused("两次输入的密码不一致")
    return first


def _by() -> str:
    from analytics import tracking

    return tracking.who()


def _add(args: argparse.Namespace, store) -> int:
    from analytics.access import ROLE_CODES
    from analytics.store import accounts

    role = ROLE_CODES.get(args.role.strip(), args.role.strip())
    # the fields first, so that nobody types a password twice for a name that is refused
    accounts._check_fields(
        accounts._normal(args.username),
        (args.name or "").strip(),
        role,
        (args.street or "").strip() or None,
        (args.unit or "").strip() or None,
    )
    password = _read_password(args)
    accounts.add_user(
        store,
        username=args.username,
        display_name=args.name,
        role=role,
        street=args.street,
        unit=args.unit,
        password=password,
        by=_by(),
    )
    print(f"已添加账号：{accounts._normal(args.username)}")
    return 0


def _list(args: argparse.Namespace, store) -> int:
    from analytics.store import accounts

    users = accounts.list_users(store)
    if users.height == 0:
        print("还没有账号。可用 aidwatch user add 添加。")
        return 0
    print("用户名\t姓名\t角色\t街镇/单位\t状态\t最近登录（UTC）")
    for r in users.iter_rows(named=True):
        state = "停用" if r["disabled"] else "锁定" if r["locked"] else "正常"
        last = f"{r['last_login_at']:%Y-%m-%d %H:%M}" if r["last_login_at"] else "—"
        print(
            "\t".join(
                [
                    r["username"],
                    r["display_name"],
                    r["role_label"],
                    r["street"] or r["unit"] or "—",
                    state,
                    last,
                ]
            )
        )
    return 0


def _disable(args: argparse.Namespace, store) -> int:
    from analytics.store import accounts

    accounts.set_disabled(store, args.username, True, by=_by())
    print(f"已停用账号：{accounts._normal(args.username)}")
    return 0


def _enable(args: argparse.Namespace, store) -> int:
    from analytics.store import accounts

    accounts.set_disabled(store, args.username, False, by=_by())
    print(f"已启用账号：{accounts._normal(args.username)}")
    return 0


def _passwd(args: argparse.Namespace, store) -> int:
    from analytics.store import accounts

    password = _read_password(args)
    accounts.set_password(store, args.username, password, by=_by())
    print(f"已为 {accounts._normal(args.username)} 设置新密码，该账号的登录会话已结束。")
    return 0


def _demo(args: argparse.Namespace, store) -> int:
    from analytics.store import accounts

    made = accounts.demo_accounts(store, by=_by())
    print("演示账号（仅供演示，请勿用于真实数据）：")
    print("用户名\t角色\t密码")
    for username, label, password in made:
        print(f"{username}\t{label}\t{password}")
    return 0


HANDLERS = {
    "add": _add,
    "list": _list,
    "disable": _disable,
    "enable": _enable,
    "passwd": _passwd,
    "demo-accounts": _demo,
}


def run(args: argparse.Namespace) -> int:
    """Handle ``aidwatch user …``: 0, or 2 with 「错误：…」 on standard error when refused."""
    from analytics.cli import _workspace
    from analytics.store.accounts import AccountError

    try:
        return HANDLERS[args.user_command](args, _workspace(args).store)
    except (AccountError, _Refused) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
