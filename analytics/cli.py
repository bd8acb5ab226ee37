"""The ``aidwatch`` command: ``generate`` a demo district, ``check`` a data drop."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
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


def _as_of(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--as-of 应为 YYYY-MM-DD 格式的日期，收到“{text}”") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aidwatch", description="救助资金监督审计台")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="生成合成的演示辖区数据")
    g.add_argument("--out", required=True, type=Path, help="输出文件夹")
    g.add_argument("--households", type=int, default=3000, help="家庭户数（默认 3000）")
    g.add_argument("--seed", type=int, default=7, help="随机种子（相同种子生成相同数据）")
    g.add_argument("--format", choices=("csv", "xlsx", "zh-csv", "parquet"), default="csv")
    g.add_argument("--months", type=int, default=6, help="发放批次月数（默认 6）")
    g.add_argument("--end-month", default="2026-10", help="最后一个发放月份 YYYY-MM")
    g.add_argument("--quiet", action="store_true")

    c = sub.add_parser("check", help="对一批数据运行全部检查")
    c.add_argument("data_dir", type=Path)
    c.add_argument("--out", required=True, type=Path)
    c.add_argument("--as-of", type=_as_of, default=None, help="检查基准日 YYYY-MM-DD")
    c.add_argument("--strict", action="store_true", help="有任何被拒行即以状态 2 退出")
    c.add_argument("--only", default="", help="只运行这些类别或检查项，逗号分隔")
    c.add_argument("--quiet", action="store_true")
    _workspace_option(c)

    i = sub.add_parser("import", help="把一批数据导入工作区，保存为不可更改的快照")
    i.add_argument("data_dir", type=Path)
    i.add_argument("--label", default=None, help="在运行记录中显示的名称（默认：文件夹名）")
    i.add_argument("--quiet", action="store_true")
    _workspace_option(i)

    r = sub.add_parser("runs", help="列出工作区的运行记录（导入与检查）")
    r.add_argument("--limit", type=int, default=50, help="最多列出多少条（默认 50）")
    _workspace_option(r)

    y = sub.add_parser("replay", help="从快照重新运行一次检查，比较线索是否完全相同")
    y.add_argument("run", type=int, help="运行记录中的编号（见 aidwatch runs）")
    y.add_argument("--quiet", action="store_true")
    _workspace_option(y)

    from analytics import accounts_cli, audit_cli

    accounts_cli.register(sub)
    audit_cli.register(sub)
    return p


def _workspace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", type=Path, default=None,
                        help="工作区文件夹（默认取环境变量 AIDWATCH_WORKSPACE 或设置中的位置）")


_OPENED: list = []  # workspaces this command opened, closed when it ends


def _workspace(args: argparse.Namespace):
    from analytics.store import Workspace

    ws = Workspace.open(args.workspace)
    _OPENED.append(ws)
    return ws


def _generate(args: argparse.Namespace) -> int:
    from analytics.generate import generate

    summary = generate(args.out, households=args.households, seed=args.seed, fmt=args.format,
                       months=args.months, end_month=args.end_month,
                       progress=_Progress(args.quiet))
    print(f"已生成演示辖区数据：{args.out}")
    print(summary)
    return 0


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
        return (f"--out 指定的位置{where}是一个文件，不是文件夹，无法写入检查结果；"
                f"请换一个文件夹")
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
    from analytics import tracking
    from analytics.reader import read_drop

    progress = _Progress(args.quiet)
    read = read_drop(args.data_dir, progress=lambda m, f: progress(m, 0.4 * f))
    rejects = read.rejects
    if args.strict and rejects.height:
        pipeline.write_rejects(rejects, args.out)
        print(f"错误：严格模式下发现 {rejects.height} 个被拒单元格，已写入 {args.out / 'rejects.csv'}，"
              "请修正后重新导出。", file=sys.stderr)
        return 2
    ws = _workspace(args)
    recorded = tracking.record_check(
        ws, args.data_dir.resolve(), read, by=tracking.who(), origin="cli", as_of=args.as_of,
        only=only, progress=lambda m, f: progress(m, 0.4 + 0.6 * f))
    pipeline.write_outputs(recorded.outcome, args.out)
    _print_summary(recorded.outcome, args.out)
    counts = recorded.ingested.counts
    print(f"已记入工作区（运行编号 {recorded.run_id}）：新线索 {counts.get('new', 0)} 条，"
          f"再次发现 {counts.get('seen', 0) + counts.get('seen_closed', 0)} 条，"
          f"整改后复发 {counts.get('recurred', 0)} 条，不再发现 {counts.get('gone', 0)} 条")
    for warning in recorded.ingested.warnings:
        print(f"  注意：{warning}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from analytics import tracking
    from analytics.reader import read_drop

    read = read_drop(args.data_dir, progress=_Progress(args.quiet))
    ws = _workspace(args)
    sid, files = tracking.import_drop(ws, args.data_dir.resolve(), read, by=tracking.who(),
                                      origin="cli", label=args.label)
    print(f"已导入工作区：快照 {sid[:12]}，{len(files)} 个文件，"
          f"{sum(read.tables[t].height for t in read.tables):,} 行，被拒单元格 {read.rejects.height} 个")
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
        print("\t".join([
            str(row["id"]), KINDS.get(row["kind"], row["kind"]) + replay,
            f"{row['started_at']:%Y-%m-%d %H:%M:%S}", row["by"], row["origin"],
            row["as_of"].isoformat() if row["as_of"] else "—", scope,
            str(row["findings"]) if row["kind"] != "import" else "—",
            STATUSES.get(row["status"], row["status"])]))
    return 0


def _replay(args: argparse.Namespace) -> int:
    from analytics import tracking

    result = tracking.replay(_workspace(args), args.run, by=tracking.who(),
                             progress=_Progress(args.quiet))
    for line in result.changed_inputs:
        print(f"输入文件已变：{line}（重放按导入时的快照进行）")
    if result.identical:
        print(f"第 {args.run} 次运行已从快照重放（运行编号 {result.replay_id}）：线索完全相同。")
        return 0
    print(f"第 {args.run} 次运行已从快照重放（运行编号 {result.replay_id}）：线索不同——"
          + "；".join(result.differences))
    return 1


def _print_summary(outcome, out: Path) -> None:
    import polars as pl

    s = outcome.summary
    ran = s.filter(pl.col("skipped").is_null())
    skipped = s.filter(pl.col("skipped").is_not_null())
    fen = int(outcome.findings.get_column("amount_fen").sum() or 0)
    print(f"检查基准日：{outcome.drop.as_of.isoformat()}")
    print(f"读取 {len(outcome.read.files)} 个文件，被拒单元格 {outcome.read.rejects.height} 个")
    print(f"运行检查 {ran.height} 项，发现线索 {outcome.findings.height} 条，涉及金额 {fen / 100:,.2f} 元")
    for row in ran.filter(pl.col("findings") > 0).iter_rows(named=True):
        print(f"  {row['title']}（{row['check_id']}）：{row['findings']} 条")
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
        commands = {"generate": _generate, "check": _check, "import": _import, "runs": _runs,
                    "replay": _replay, "user": lambda a: a.run(a), "audit": lambda a: a.run(a)}
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
        print(f"错误：读写文件失败（{os_reason(exc)}），检查结果可能不完整，请处理后重新运行。",
              file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a traceback could quote a row of the drop
        if os.environ.get("AIDWATCH_DEBUG"):
            raise
        print(f"错误：内部错误（{type(exc).__name__}），检查未完成。设置环境变量 AIDWATCH_DEBUG=1 "
              "后重新运行可看到详细信息，请联系维护人员。", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
