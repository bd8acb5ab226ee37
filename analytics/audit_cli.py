"""``aidwatch audit``: the audit log from the command line (analytics.store.audit).

```
aidwatch audit verify                        # exit 0: intact; 1: the rows that break the chain
aidwatch audit list [--limit N] [--action X] # newest first, tab-separated
```
"""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    """Add ``audit`` and its subcommands to the ``aidwatch`` subparsers ``sub``. The parsed
    arguments carry ``run``: ``args.run(args)`` handles the command (exit status)."""
    from analytics.cli import _workspace_option

    a = sub.add_parser("audit", help="审计日志：校验哈希链、列出记录")
    a.set_defaults(run=run)
    audit_sub = a.add_subparsers(dest="audit_command", required=True)

    v = audit_sub.add_parser("verify", help="校验审计日志的哈希链，指出被修改、插入或删除的记录")
    _workspace_option(v)

    ls = audit_sub.add_parser("list", help="列出审计日志（最新的在前）")
    ls.add_argument(
        "--limit", type=int, default=50, metavar="条数", help="最多列出多少条（默认 50）"
    )
    ls.add_argument(
        "--action", default=None, metavar="操作", help="只列出这一种操作（代码或中文名称）"
    )
    _workspace_option(ls)


def _verify(args: argparse.Namespace, store) -> int:
    from analytics.store import audit

    problems = audit.verify(store)
    total = audit.count(store)
    if not problems:
        last = audit.head(store)
        if last is None:
            print("审计日志完整：共 0 条（尚无记录）")
        else:
            print(f"审计日志完整：共 {total} 条，末条哈希 {last[1]}（第 {last[0]} 条）")
        return 0
    print(f"审计日志不完整：共 {total} 条，发现 {len(problems)} 处问题")
    for problem in problems:
        print(problem.message)
    return 1


class _Refused(Exception):
    """A command refused before it reached the log (Chinese message)."""


def _action_code(text: str) -> str:
    from analytics.store.audit import ACTIONS

    text = text.strip()
    if text in ACTIONS:
        return text
    codes = {label: code for code, label in ACTIONS.items()}
    if text in codes:
        return codes[text]
    raise _Refused(
        f"未知的操作“{text}”，可选："
        + "、".join(f"{code}（{label}）" for code, label in ACTIONS.items())
    )


def _role_label(role: str | None) -> str:
    if not role:
        return "—"
    from analytics.access import ROLES

    return ROLES.get(role, role)


def _list(args: argparse.Namespace, store) -> int:
    from analytics.store import audit

    if args.limit < 1:
        raise _Refused("--limit 应为正整数")
    actions = [_action_code(args.action)] if args.action else None
    entries = audit.entries_frame(store, actions=actions, limit=args.limit)
    if entries.height == 0:
        print("审计日志中没有符合条件的记录。")
        return 0
    print("编号\t时间（UTC）\t操作人\t角色\t操作\t对象\t详情")
    for r in entries.iter_rows(named=True):
        print(
            "\t".join(
                [
                    str(r["id"]),
                    f"{r['at']:%Y-%m-%d %H:%M:%S}",
                    r["actor"],
                    _role_label(r["role"]),
                    r["action_label"],
                    r["target"] or "—",
                    "—" if r["detail"] == "{}" else r["detail"],
                ]
            )
        )
    return 0


HANDLERS = {"verify": _verify, "list": _list}


def run(args: argparse.Namespace) -> int:
    """Handle ``aidwatch audit …``: 0; 1 when ``verify`` finds the log broken; 2 with
    「错误：…」 on standard error when refused."""
    from analytics.cli import _workspace

    try:
        return HANDLERS[args.audit_command](args, _workspace(args).store)
    except _Refused as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
