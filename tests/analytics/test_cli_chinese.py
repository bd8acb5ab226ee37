"""The aidwatch command speaks Chinese: help, usage errors, what ``generate`` made, refusals
of too few households; and its 涉及金额 is the one of analytics.amounts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from analytics import formats
from analytics.amounts import money_at_risk_fen
from analytics.cli import main, translate_error
from analytics.generate import MIN_HOUSEHOLDS, generate
from analytics.results import load_findings

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = (
    "positional arguments",
    "options:",
    "optional arguments",
    "usage:",
    "show this help message and exit",
    "error:",
    "invalid choice",
    "required:",
    "unrecognized arguments",
)
COMMANDS = (
    [],
    ["generate"],
    ["check"],
    ["import"],
    ["runs"],
    ["replay"],
    ["user"],
    ["user", "add"],
    ["user", "list"],
    ["user", "disable"],
    ["user", "enable"],
    ["user", "passwd"],
    ["user", "demo-accounts"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "list"],
)


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``aidwatch argv``, argparse's own exits included."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "aidwatch")
def test_help_of_every_command_is_chinese(command, capsys):
    code, out, err = run_main([*command, "--help"], capsys)
    assert code == 0 and not err
    assert out.startswith("用法：aidwatch")
    assert "-h, --help" in out and "显示本说明并退出" in out
    assert "选项:" in out
    for word in ENGLISH:
        assert word not in out, word
    # every option and argument says what it is for
    lines = out.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        follows = lines[i + 1] if i + 1 < len(lines) else ""
        if re.fullmatch(r"--[a-z-]+( \S+)?", stripped) and not re.match(
            r" {8,}\S", follows
        ):  # its help on the next line
            raise AssertionError(f"no help for {stripped}")


def test_help_lines_are_aligned_by_the_width_chinese_takes(capsys):
    _, out, _ = run_main(["check", "--help"], capsys)
    lines = [line for line in out.splitlines() if line.startswith(("  --out ", "  --strict "))]
    widths = []
    for line in lines:
        head, help_text = re.match(r"(\s+\S+(?: \S+)?\s+)(\S.*)", line).groups()
        widths.append(sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in head))
    assert len(widths) == 2 and widths[0] == widths[1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["bogus"],
            "参数 命令 的值“bogus”无效，可选：generate、check、import、runs、replay、user、audit",
        ),
        (["check"], "缺少必需的参数：数据文件夹、--out"),
        (
            ["check", "x", "--out", "y", "--as-of", "2026"],
            "参数 --as-of：应为 YYYY-MM-DD 格式的日期，收到“2026”",
        ),
        (
            ["generate", "--format", "json", "x"],
            "参数 --format 的值“json”无效，可选：csv、xlsx、zh-csv、parquet",
        ),
        (["generate", "--seed", "x", "y"], "参数 --seed 应为整数，收到“x”"),
        (["runs", "--zz"], "无法识别的参数：--zz"),
        (["user"], "缺少必需的参数：命令"),
        (["audit", "list", "--limit"], "参数 --limit 后面需要跟一个值"),
    ],
)
def test_usage_errors_are_chinese_with_status_2(argv, expected, capsys):
    code, out, err = run_main(argv, capsys)
    assert code == 2 and not out
    assert f"错误：{expected}\n" in err
    assert err.startswith("用法：aidwatch") and "-h 可查看说明" in err
    for word in ENGLISH:
        assert word not in err, word


def test_translate_error_passes_unknown_messages_through():
    assert translate_error("另有原因") == "另有原因"
    assert translate_error("argument --x: expected 2 arguments") == "参数 --x 后面需要跟 2 个值"
    assert (
        translate_error("argument --a: not allowed with argument --b")
        == "参数 --a 不能与 --b 同时使用"
    )


@pytest.mark.parametrize("households", ["1", "0", "-5", str(MIN_HOUSEHOLDS - 1)])
def test_generate_with_too_few_households_is_refused_in_chinese(households, tmp_path, capsys):
    code, out, err = run_main(["generate", str(tmp_path / "d"), "--households", households], capsys)
    assert code == 2 and not out
    assert f"演示辖区至少需要 {MIN_HOUSEHOLDS} 户救助家庭" in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_generate_with_too_few_households_in_a_real_process(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analytics.cli",
            "generate",
            str(tmp_path / "d"),
            "--households",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "至少需要" in proc.stderr and "Traceback" not in proc.stderr
    assert "ValueError" not in proc.stderr and not proc.stdout


def test_the_library_refuses_too_few_households_before_writing(tmp_path):
    with pytest.raises(ValueError, match=f"至少需要 {MIN_HOUSEHOLDS} 户"):
        generate(tmp_path / "d", households=10)
    assert not (tmp_path / "d").exists()


def test_a_refusal_of_the_generator_is_an_error_not_a_crash(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ledger.csv").write_text("txn_id\nT1\n", encoding="utf-8")  # a real drop
    code, out, err = run_main(
        ["generate", "--out", str(tmp_path / "d"), "--households", str(MIN_HOUSEHOLDS), "--quiet"],
        capsys,
    )
    assert code == 2 and err.startswith("错误：") and "覆盖" in err
    assert "内部错误" not in err and "Traceback" not in err


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    drop = tmp_path_factory.mktemp("cli-zh") / "drop"
    try:
        code = main(
            ["generate", str(drop), "--households", str(MIN_HOUSEHOLDS), "--seed", "7", "--quiet"]
        )
    except SystemExit as exc:
        code = exc.code
    return drop, code


def test_generate_prints_a_chinese_summary(generated, tmp_path, capsys):
    drop, code = generated
    assert code == 0
    # again, into another folder, to read what it prints (same seed: same district)
    code, out, err = run_main(
        [
            "generate",
            "--out",
            str(tmp_path / "again"),
            "--households",
            str(MIN_HOUSEHOLDS),
            "--seed",
            "7",
            "--quiet",
        ],
        capsys,
    )
    assert code == 0 and not err
    persons = pl.read_csv(drop / "persons.csv", infer_schema=False).height
    cases = pl.read_csv(drop / "cases.csv", infer_schema=False).height
    truth = pl.read_csv(drop / "truth.csv", infer_schema=False).height
    files = sorted(p.name for p in drop.iterdir())
    assert "GenerateSummary" not in out and "PosixPath" not in out
    assert f"救助家庭 {MIN_HOUSEHOLDS} 户，人员 {persons:,} 人，案件 {cases:,} 件" in out
    assert f"写入文件 {len(files)} 个：数据表 {len(files) - 2} 个" in out
    assert f"truth.csv：植入的问题 {truth:,} 条" in out and "检查不读取这些文件" in out
    assert f"文件夹：{tmp_path / 'again'}" in out
    assert "默认检查基准日：2026-10-31" in out


def test_check_prints_the_one_money_at_risk(generated, tmp_path, capsys):
    drop, _ = generated
    out_dir = tmp_path / "out"
    code, out, err = run_main(
        ["check", str(drop), "--out", str(out_dir), "--quiet", "--workspace", str(tmp_path / "ws")],
        capsys,
    )
    assert code == 0, err
    findings = load_findings(out_dir)
    at_risk = money_at_risk_fen(findings)
    plain = int(findings["amount_fen"].sum())
    assert "control_total_mismatch" in findings["check_id"].to_list()
    assert plain > at_risk > 0  # the control totals would count money twice
    line = next(x for x in out.splitlines() if x.startswith("运行检查"))
    assert f"涉及金额 {formats.money_fen(at_risk)} 元" in line
    assert formats.money_fen(plain) not in out
    assert f"发现线索 {findings.height:,} 条" in line
    # the generator's answer key is explained, not merely ignored
    assert "忽略文件 truth.csv：演示数据生成器写出的答案清单" in out
    assert "忽略文件 lookalikes.csv：演示数据生成器写出的形似问题清单" in out
