"""The ``aidwatch`` command: ``generate`` a demo district, ``check`` a data drop."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from datetime import date
from pathlib import Path

from analytics.model import DropError, os_reason


class _Progress:
    """Progress lines on stderr, so that stdout keeps the summary."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.started = time.perf_counter()

    def __call__(self, message: str, fraction: float) -> None:
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.started
        print(f"[{fraction * 100:5.1f}% {elapsed:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- argparse in Chinese ------------------------------------------------------------------------


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: two for a Chinese character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_WRAP_UNITS = re.compile(r"[\x21-\x7e]+|\s+|.", re.S)  # an ASCII word, a blank run, a character


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help with its own words in Chinese (用法 instead of "usage:"), its columns
    aligned and its lines wrapped by the width Chinese characters take, not their count."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)

    def add_argument(self, action):
        if action.help is not argparse.SUPPRESS:
            invocations = [self._format_action_invocation(action)]
            invocations += [
                self._format_action_invocation(sub)
                for sub in self._iter_indented_subactions(action)
            ]
            self._action_max_length = max(
                self._action_max_length, max(map(_width, invocations)) + self._current_indent
            )
            self._add_item(self._format_action, [action])

    def _format_action(self, action):
        help_position = min(self._action_max_length + 2, self._max_help_position)
        help_width = max(self._width - help_position, 11)
        action_width = help_position - self._current_indent - 2
        header = self._format_action_invocation(action)
        if not action.help:
            parts = [" " * self._current_indent + header + "\n"]
            indent_first = 0
        elif _width(header) <= action_width:
            parts = [
                " " * self._current_indent + header + " " * (action_width - _width(header) + 2)
            ]
            indent_first = 0
        else:
            parts = [" " * self._current_indent + header + "\n"]
            indent_first = help_position
        if action.help and action.help.strip():
            lines = self._split_lines(self._expand_help(action), help_width)
            if lines:
                parts.append(" " * indent_first + lines[0] + "\n")
                parts += [" " * help_position + line + "\n" for line in lines[1:]]
        elif not parts[0].endswith("\n"):
            parts.append("\n")
        for sub in self._iter_indented_subactions(action):
            parts.append(self._format_action(sub))
        return self._join_parts(parts)

    def _split_lines(self, text, width):
        """Lines of at most ``width`` columns, broken between Chinese characters or at blanks,
        never inside an ASCII word (zh-csv, UTF-8)."""
        lines, line = [], ""
        for unit in _WRAP_UNITS.findall(" ".join(text.split())):
            if line and _width(line + unit) > width:
                lines.append(line.rstrip())
                line = "" if unit.isspace() else unit
            else:
                line += unit
        if line.strip():
            lines.append(line.rstrip())
        return lines


_TYPE_NAMES = {"int": "整数", "float": "数字"}


def _names(text: str) -> str:
    return "、".join(part.strip() for part in text.split(","))


def _choices(text: str) -> str:
    return "、".join(part.strip().strip("'") for part in text.split(","))


def _value(text: str) -> str:
    return text.strip().strip("'\"")


# argparse's error messages (Python 3.11 to 3.13), most specific first; anything else is passed
# through behind "参数 …：" or as it is.
_ERRORS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(p, re.S), f)
    for p, f in (
        (
            r"the following arguments are required: (.+)",
            lambda m: f"缺少必需的参数：{_names(m[1])}",
        ),
        (
            r"argument (.+?): invalid choice: (.+?) \(choose from (.+)\)",
            lambda m: f"参数 {m[1]} 的值“{_value(m[2])}”无效，可选：{_choices(m[3])}",
        ),
        (
            r"argument (.+?): invalid (\w+) value: (.+)",
            lambda m: (
                f"参数 {m[1]} 应为{_TYPE_NAMES[m[2]]}，收到“{_value(m[3])}”"
                if m[2] in _TYPE_NAMES
                else f"参数 {m[1]} 的值“{_value(m[3])}”无效"
            ),
        ),
        (r"argument (.+?): expected one argument", lambda m: f"参数 {m[1]} 后面需要跟一个值"),
        (
            r"argument (.+?): expected at most one argument",
            lambda m: f"参数 {m[1]} 后面最多跟一个值",
        ),
        (
            r"argument (.+?): expected at least one argument",
            lambda m: f"参数 {m[1]} 后面至少需要跟一个值",
        ),
        (
            r"argument (.+?): expected (\d+) arguments?",
            lambda m: f"参数 {m[1]} 后面需要跟 {m[2]} 个值",
        ),
        (
            r"argument (.+?): not allowed with argument (.+)",
            lambda m: f"参数 {m[1]} 不能与 {m[2]} 同时使用",
        ),
        (
            r"argument (.+?): ignored explicit argument (.+)",
            lambda m: f"参数 {m[1]} 不接受值“{_value(m[2])}”",
        ),
        (r"unrecognized arguments: (.+)", lambda m: f"无法识别的参数：{m[1]}"),
        (
            r"ambiguous option: (.+?) could match (.+)",
            lambda m: f"选项 {m[1]} 不明确，可能是：{_names(m[2])}",
        ),
        (r"one of the arguments (.+) is required", lambda m: f"必须提供以下参数之一：{m[1]}"),
        (
            r"argument (.+?): (.+)",  # a type function's own (Chinese) message
            lambda m: f"参数 {m[1]}：{m[2]}",
        ),
    )
)


def translate_error(message: str) -> str:
    """An argparse error message in Chinese."""
    for pattern, build in _ERRORS:
        match = pattern.fullmatch(message.strip())
        if match:
            return build(match)
    return message


class ArgumentParser(argparse.ArgumentParser):
    """argparse speaking Chinese: section headings, the -h option and error messages. Every
    subcommand parser is one too (add_subparsers makes its parsers of the parent's class)."""

    def __init__(self, *args, **kwargs) -> None:
        add_help = kwargs.pop("add_help", True)
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument(
                "-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本说明并退出"
            )

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("title", "命令")
        kwargs.setdefault("metavar", "命令")
        kwargs.setdefault("description", f"{self.prog} 命令 -h 可查看该命令的说明")
        return super().add_subparsers(**kwargs)

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：{translate_error(message)}\n（{self.prog} -h 可查看说明）\n")


# --- the commands -------------------------------------------------------------------------------


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为 YYYY-MM-DD 格式的日期，收到“{text}”") from None


def _households(text: str) -> int:
    from analytics.generate import MIN_HOUSEHOLDS

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为整数，收到“{text}”") from None
    if value < MIN_HOUSEHOLDS:
        raise argparse.ArgumentTypeError(
            f"演示辖区至少需要 {MIN_HOUSEHOLDS} 户救助家庭"
            "（各类植入的问题需要足够的家庭和工作人员），"
            f"收到 {value}"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="aidwatch", description="救助资金监督审计台")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser(
        "generate",
        help="生成合成的演示辖区数据",
        description="生成合成的演示辖区数据（含植入的问题及其答案清单）",
    )
    g.add_argument(
        "folder",
        nargs="?",
        type=Path,
        metavar="输出文件夹",
        help="演示数据写入的文件夹（也可用 --out 指定）",
    )
    g.add_argument("--out", type=Path, metavar="文件夹", help="同“输出文件夹”")
    g.add_argument(
        "--households",
        type=_households,
        default=3000,
        metavar="户数",
        help="救助家庭户数（默认 3000）",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=7,
        metavar="种子",
        help="随机种子（相同种子生成相同数据，默认 7）",
    )
    g.add_argument(
        "--format",
        choices=("csv", "xlsx", "zh-csv", "parquet"),
        default="csv",
        help="文件格式：csv（英文表头，UTF-8）、zh-csv（中文表头，GB18030）、"
        "xlsx（Excel）、parquet（默认 csv）",
    )
    g.add_argument("--months", type=int, default=6, metavar="月数", help="发放批次月数（默认 6）")
    g.add_argument(
        "--end-month", default="2026-10", metavar="YYYY-MM", help="最后一个发放月份（默认 2026-10）"
    )
    g.add_argument("--quiet", action="store_true", help="不显示进度")

    c = sub.add_parser(
        "check",
        help="对一批数据运行全部检查",
        description="读入一批数据，运行检查，写出线索、拒收记录、指标和检查汇总",
    )
    c.add_argument(
        "data_dir", type=Path, metavar="数据文件夹", help="各系统导出的数据文件所在文件夹"
    )
    c.add_argument("--out", required=True, type=Path, metavar="文件夹", help="检查结果写入的文件夹")
    c.add_argument(
        "--as-of",
        type=_as_of,
        default=None,
        metavar="YYYY-MM-DD",
        help="检查基准日（默认取应发名册和资金实发明细中最后一个月的月末；"
        "不能早于数据的第一个发放月份）",
    )
    c.add_argument("--strict", action="store_true", help="有任何被拒行即以状态 2 退出")
    c.add_argument(
        "--only", default="", metavar="类别或检查项", help="只运行这些类别或检查项，逗号分隔"
    )
    c.add_argument("--quiet", action="store_true", help="不显示进度")
    _workspace_option(c)

    i = sub.add_parser("import", help="把一批数据导入工作区，保存为不可更改的快照")
    i.add_argument(
        "data_dir", type=Path, metavar="数据文件夹", help="各系统导出的数据文件所在文件夹"
    )
    i.add_argument(
        "--label", default=None, metavar="名称", help="在运行记录中显示的名称（默认：文件夹名）"
    )
    i.add_argument("--quiet", action="store_true", help="不显示进度")
    _workspace_option(i)

    r = sub.add_parser("runs", help="列出工作区的运行记录（导入与检查）")
    r.add_argument(
        "--limit", type=int, default=50, metavar="条数", help="最多列出多少条（默认 50）"
    )
    _workspace_option(r)

    y = sub.add_parser("replay", help="从快照重新运行一次检查，比较线索是否完全相同")
    y.add_argument("run", type=int, metavar="编号", help="运行记录中的编号（见 aidwatch runs）")
    y.add_argument("--quiet", action="store_true", help="不显示进度")
    _workspace_option(y)

    from analytics import accounts_cli, audit_cli

    accounts_cli.register(sub)
    audit_cli.register(sub)
    return p


def _workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=Path,
        default=None,
        metavar="文件夹",
        help="工作区文件夹（默认取环境变量 AIDWATCH_WORKSPACE 或设置中的位置）",
    )


_OPENED: list = []  # workspaces this command opened, closed when it ends


def _workspace(args: argparse.Namespace):
    from analytics.store import Workspace

    ws = Workspace.open(args.workspace)
    _OPENED.append(ws)
    return ws


def _generate(args: argparse.Namespace) -> int:
    from analytics.generate import generate

    if args.folder is not None and args.out is not None and args.folder != args.out:
        print("错误：输出文件夹和 --out 只需给出一个（两者不同）", file=sys.stderr)
        return 2
    out = args.folder if args.folder is not None else args.out
    if out is None:
        print(
            "错误：请给出输出文件夹（aidwatch generate 文件夹，或 --out 文件夹）", file=sys.stderr
        )
        return 2
    try:
        summary = generate(
            out,
            households=args.households,
            seed=args.seed,
            fmt=args.format,
            months=args.months,
            end_month=args.end_month,
            progress=_Progress(args.quiet),
        )
    except ValueError as exc:  # the generator's own refusals are Chinese and name no data
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(generate_summary_text(summary))
    return 0


def generate_summary_text(summary) -> str:
    """What ``aidwatch generate`` made, in Chinese (analytics.generate.GenerateSummary)."""
    from analytics.formats import count

    rows = summary.rows
    companions = [f for f in summary.files if f in ("truth.csv", "lookalikes.csv")]
    tables = len(summary.files) - len(companions)
    lines = [
        f"已生成演示辖区数据（随机种子 {summary.seed}，格式 {summary.fmt}）：",
        f"  救助家庭 {count(summary.households)} 户，人员 {count(rows.get('persons', 0))} 人，"
        f"案件 {count(rows.get('cases', 0))} 件，工作人员 {count(rows.get('staff', 0))} 人，"
        f"实发流水 {count(rows.get('ledger', 0))} 笔",
        f"  写入文件 {len(summary.files)} 个：数据表 {tables} 个，另有生成器的答案清单 "
        f"{len(companions)} 个（truth.csv：植入的问题 {count(summary.truth)} 条；lookalikes.csv："
        f"形似问题、不应报出的记录 {count(summary.lookalikes)} 条；检查不读取这些文件）",
        f"  文件夹：{summary.out}",
        f"  默认检查基准日：{summary.as_of.isoformat()}",
        f"下一步：aidwatch check {summary.out} --out 结果文件夹",
    ]
    return "\n".join(lines)


def out_dir_problem(out: Path) -> str | None:
    """Why the results could not be written to ``out``, found before the run rather than after
    it; None when they can. Nothing is left behind by the test."""
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "" if existing == out else f"其中的 {existing.name} "
        return f"--out 指定的位置{where}是一个文件，不是文件夹，无法写入检查结果；请换一个文件夹"
    try:
        fd, probe = tempfile.mkstemp(prefix=".aidwatch-probe-", dir=existing)
    except OSError:
        return f"无法在 --out 指定的位置写入文件（{existing} 不可写），请换一个有写入权限的文件夹"
    os.close(fd)
    os.unlink(probe)
    return None


def _check(args: argparse.Namespace) -> int:
    from analytics import pipeline
    from checks.registry import select

    only = [x.strip() for x in args.only.split(",") if x.strip()]
    try:
        select(only)
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    problem = out_dir_problem(args.out)
    if problem:
        print(f"错误：{problem}", file=sys.stderr)
        return 2
    from analytics import runs, tracking
    from analytics.reader import read_drop

    progress = _Progress(args.quiet)
    read = read_drop(args.data_dir, progress=lambda m, f: progress(m, 0.4 * f))
    rejects = read.rejects
    if args.strict and rejects.height:
        pipeline.write_rejects(rejects, args.out)
        print(
            f"错误：严格模式下发现 {rejects.height:,} 个被拒单元格，"
            f"已写入 {args.out / 'rejects.csv'}，"
            "请修正后重新导出。",
            file=sys.stderr,
        )
        return 2
    note = pipeline.as_of_note(read.tables, args.as_of)
    if note is not None and note.level == "refuse":
        print(f"错误：{note.message}", file=sys.stderr)
        return 2
    if note is not None:
        print(f"注意：{note.message}", file=sys.stderr)
    ws = _workspace(args)
    recorded = tracking.record_check(
        ws,
        args.data_dir.resolve(),
        read,
        by=tracking.who(),
        origin="cli",
        as_of=args.as_of,
        only=only,
        progress=lambda m, f: progress(m, 0.4 + 0.6 * f),
    )
    pipeline.write_outputs(recorded.outcome, args.out)
    runs.mark_outputs(args.out, recorded.run_id)
    _print_summary(recorded.outcome, args.out)
    counts = recorded.ingested.counts
    print(
        f"已记入工作区（运行编号 {recorded.run_id}）：新线索 {counts.get('new', 0)} 条，"
        f"再次发现 {counts.get('seen', 0) + counts.get('seen_closed', 0)} 条，"
        f"整改后复发 {counts.get('recurred', 0)} 条，不再发现 {counts.get('gone', 0)} 条"
    )
    for warning in recorded.ingested.warnings:
        print(f"  注意：{warning}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from analytics import tracking
    from analytics.reader import read_drop

    read = read_drop(args.data_dir, progress=_Progress(args.quiet))
    ws = _workspace(args)
    sid, files = tracking.import_drop(
        ws, args.data_dir.resolve(), read, by=tracking.who(), origin="cli", label=args.label
    )
    print(
        f"已导入工作区：快照 {sid[:12]}，{len(files)} 个文件，"
        f"{sum(read.tables[t].height for t in read.tables):,} 行，"
        f"被拒单元格 {read.rejects.height:,} 个"
    )
    return 0


KINDS = {"import": "导入", "check": "检查", "replay": "重放", "file_audit": "档案核查"}
STATUSES = {"ok": "完成", "failed": "失败", "running": "进行中"}


def _runs(args: argparse.Namespace) -> int:
    from analytics.store.findings import runs_frame

    log = runs_frame(_workspace(args).store).head(max(args.limit, 1))
    if log.height == 0:
        print("工作区中还没有运行记录。")
        return 0
    print("编号\t类型\t开始时间（UTC）\t操作人\t来源\t检查基准日\t检查范围\t线索数\t状态")
    for row in log.iter_rows(named=True):
        scope = "、".join(row["only"] or []) or "全部"
        if row["kind"] == "import":
            scope = "—"
        replay = f"（重放第 {row['replay_of']} 次）" if row["replay_of"] else ""
        print(
            "\t".join(
                [
                    str(row["id"]),
                    KINDS.get(row["kind"], row["kind"]) + replay,
                    f"{row['started_at']:%Y-%m-%d %H:%M:%S}",
                    row["by"],
                    row["origin"],
                    row["as_of"].isoformat() if row["as_of"] else "—",
                    scope,
                    str(row["findings"]) if row["kind"] != "import" else "—",
                    STATUSES.get(row["status"], row["status"]),
                ]
            )
        )
    return 0


def _replay(args: argparse.Namespace) -> int:
    from analytics import tracking

    result = tracking.replay(
        _workspace(args), args.run, by=tracking.who(), progress=_Progress(args.quiet)
    )
    for line in result.changed_inputs:
        print(f"输入文件已变：{line}（重放按导入时的快照进行）")
    if result.identical:
        print(f"第 {args.run} 次运行已从快照重放（运行编号 {result.replay_id}）：线索完全相同。")
        return 0
    print(
        f"第 {args.run} 次运行已从快照重放（运行编号 {result.replay_id}）：线索不同——"
        + "；".join(result.differences)
    )
    return 1


def _print_summary(outcome, out: Path) -> None:
    import polars as pl

    from analytics.amounts import money_at_risk_fen
    from analytics.formats import count, money_fen

    s = outcome.summary
    ran = s.filter(pl.col("skipped").is_null())
    skipped = s.filter(pl.col("skipped").is_not_null())
    fen = money_at_risk_fen(outcome.findings)
    print(f"检查基准日：{outcome.drop.as_of.isoformat()}")
    print(
        f"读取 {len(outcome.read.files)} 个文件，被拒单元格 {count(outcome.read.rejects.height)} 个"
    )
    print(
        f"运行检查 {ran.height} 项，发现线索 {count(outcome.findings.height)} 条，"
        f"涉及金额 {money_fen(fen)} 元（同一笔流水只计一次，汇总金额不符不重复计入）"
    )
    for row in ran.filter(pl.col("findings") > 0).iter_rows(named=True):
        print(f"  {row['title']}（{row['check_id']}）：{count(row['findings'])} 条")
    for row in skipped.iter_rows(named=True):
        print(f"  跳过 {row['title']}（{row['check_id']}）：{row['skipped']}")
    if "note" in s.columns:  # a check that ran on part of its rows says which part it left out
        for row in ran.filter(pl.col("note").is_not_null()).iter_rows(named=True):
            print(f"  部分未检查 {row['title']}（{row['check_id']}）：{row['note']}")
    for report in outcome.read.files:
        for note in report.notes:
            print(f"  文件 {report.path}：{note}")
    for name, reason in outcome.read.ignored:
        print(f"  忽略文件 {name}：{reason}")
    print(f"结果已写入 {out}")


def main(argv: list[str] | None = None) -> int:
    from analytics.calendar import CalendarError

    args = _parser().parse_args(argv)
    try:
        commands = {
            "generate": _generate,
            "check": _check,
            "import": _import,
            "runs": _runs,
            "replay": _replay,
            "user": lambda a: a.run(a),
            "audit": lambda a: a.run(a),
        }
        try:
            return commands[args.command](args)
        finally:
            while _OPENED:
                _OPENED.pop().close()
    except (DropError, CalendarError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of the output went away (``aidwatch check ... | head``): not an error of
        # ours, and Python would otherwise complain again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("已中断，未写入完整的检查结果。", file=sys.stderr)
        return 130
    except OSError as exc:
        # A disk that filled up or a folder that vanished mid-run; the OS's own text can name
        # server paths, so only its kind is said.
        print(
            f"错误：读写文件失败（{os_reason(exc)}），检查结果可能不完整，请处理后重新运行。",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:  # noqa: BLE001 - a traceback could quote a row of the drop
        if os.environ.get("AIDWATCH_DEBUG"):
            raise
        print(
            f"错误：内部错误（{type(exc).__name__}），检查未完成。设置环境变量 AIDWATCH_DEBUG=1 "
            "后重新运行可看到详细信息，请联系维护人员。",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
