"""The dashboard started as a server of its own, for what drives it from outside: the browser
tests, the screenshots (docs/screenshots.py) and the page benchmarks. ``make demo`` and a
deployment start it with Streamlit's own command (README)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
APP = "dashboard/app.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def command(port: int, app: str | Path = APP, options: Sequence[str] = ()) -> list[str]:
    """``streamlit run`` of ``app`` on 127.0.0.1:``port``, headless, without a file watcher or
    usage statistics, with Streamlit's further ``options`` (e.g. ``--secrets.files``)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        *options,
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Returns once the server at ``url`` answers its health check; raises with the end of its
    log if it exits or does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit not healthy after {timeout} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start(
    env: Mapping[str, str] | None,
    log: Path,
    *,
    app: str | Path = APP,
    port: int | None = None,
    options: Sequence[str] = (),
    timeout: float = 60,
) -> tuple[str, subprocess.Popen]:
    """The dashboard (or another Streamlit ``app``) started in the project folder with ``env``
    (default: this process's), its output in ``log``; (its address, its process) once it is
    healthy. A server that does not come up is stopped before the error is raised."""
    port = port or free_port()
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            command(port, app, options),
            cwd=PROJECT_ROOT,
            env=dict(os.environ if env is None else env),
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log, timeout)
    except BaseException:
        stop(proc)
        raise
    return url, proc
