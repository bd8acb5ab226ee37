"""``streamlit run …`` with a timer on each script run: the server bench/load/run.py starts.

    python bench/load/serve.py TIMINGS_FILE run dashboard/app.py --server.port … (as streamlit)

Behaves as Streamlit's own command line; in addition, each script run of a session (the
entrypoint, and within it the page ``st.navigation`` chose) appends one JSON line to
TIMINGS_FILE: when it ended (``time.time()``), the run's wall and CPU seconds (the script
thread's own CPU, ``time.thread_time``), the page's address (empty for the default page) and
title, the page's own part of those seconds, and the wall and CPU seconds of the full garbage
collections in the run (Streamlit makes one after each run: ``runner.postScriptGC``). The cost
is a few clock readings and a short write per run. Nothing else is changed.
"""

from __future__ import annotations

import gc
import json
import sys
import threading
import time


def install(path: str) -> None:
    from streamlit.navigation.page import StreamlitPage
    from streamlit.runtime.scriptrunner import script_runner

    out = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - for the server's life
    lock = threading.Lock()
    local = threading.local()
    run_script = script_runner.ScriptRunner._run_script
    run_page = StreamlitPage.run

    def timed_gc(phase, info):
        """Seconds of each full collection (generation 2) in a script run, the one Streamlit
        makes after each run (runner.postScriptGC) included."""
        if info.get("generation") != 2 or not hasattr(local, "gc"):
            return
        if phase == "start":
            local.gc_started = time.perf_counter(), time.thread_time()
        elif getattr(local, "gc_started", None) is not None:
            local.gc += time.perf_counter() - local.gc_started[0]
            local.gc_cpu += time.thread_time() - local.gc_started[1]
            local.gc_started = None

    gc.callbacks.append(timed_gc)

    def timed_run_script(self, rerun_data):
        local.page = None
        local.gc = local.gc_cpu = 0.0
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return run_script(self, rerun_data)
        finally:
            page = local.page or {}
            line = json.dumps(
                {
                    "end": time.time(),
                    "wall": time.perf_counter() - wall,
                    "cpu": time.thread_time() - cpu,
                    "page": page.get("page"),
                    "title": page.get("title"),
                    "page_wall": page.get("wall"),
                    "page_cpu": page.get("cpu"),
                    "full_gc_wall": local.gc,
                    "full_gc_cpu": local.gc_cpu,
                }
            )
            with lock:
                out.write(line + "\n")

    def timed_run_page(self):
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return run_page(self)
        finally:
            local.page = {
                "page": self.url_path,
                "title": self.title,
                "wall": time.perf_counter() - wall,
                "cpu": time.thread_time() - cpu,
            }

    script_runner.ScriptRunner._run_script = timed_run_script
    StreamlitPage.run = timed_run_page


if __name__ == "__main__":
    install(sys.argv[1])
    from streamlit.web import cli

    sys.argv = ["streamlit", *sys.argv[2:]]
    sys.exit(cli.main())
