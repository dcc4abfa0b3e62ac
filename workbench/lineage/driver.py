"""Subprocess side of a re-run: import the pipeline's entry point from an exported tree, call it.

Started by the runner as `python -m workbench.lineage.driver` with the exported commit's
working folder as its current folder (first on sys.path). It reads one JSON request per line on
standard input and answers one JSON line on standard output; the pipeline's own prints go to
standard error, so they never corrupt the answers. The module is imported once per process, so
many runs of the same commit (noise repeats, ablations) pay the import cost once.

`--fork-server` starts a process that imports the heavy libraries once (numpy, pandas, scipy,
scikit-learn, pyarrow: whichever are installed) and then forks one worker per exported tree on
request; a forked worker moves into its tree and serves runs over a Unix socket. A new commit
then costs milliseconds instead of seconds of imports. BLAS thread pools are limited to one
thread in that process, since threads do not survive a fork.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any


def load(spec: str, workdir: Path) -> Any:
    """The function named 'module:function', imported from workdir (checked)."""
    module_name, _, func_name = spec.partition(":")
    module = importlib.import_module(module_name)
    origin = Path(getattr(module, "__file__", "") or "").resolve()
    if workdir.resolve() not in origin.parents:
        raise ImportError(f"{module_name} was imported from {origin}, not from the exported "
                          f"commit in {workdir}; an installed copy shadows it. Uninstall it "
                          f"from this environment or run the pipeline through a command.")
    func = getattr(module, func_name, None)
    if not callable(func):
        raise AttributeError(f"{module_name} has no function {func_name!r}")
    return func


def handle(request: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run one request; never raises (errors become an answer).

    With `"modules": true` the answer lists the top-level modules the call imported (for the
    manifest's library versions).
    """
    began = time.perf_counter()
    before = set(sys.modules)
    try:
        func = load(request["callable"], workdir)
        result = func(data=request["data"], config=request["config"], seed=request["seed"])
        metrics = metrics_of(result)
    except Exception as exc:  # noqa: BLE001 - every pipeline error is reported to the caller
        tail = "".join(traceback.format_exception(exc)[-6:])
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": tail,
                "seconds": time.perf_counter() - began}
    answer = {"ok": True, "metrics": metrics, "seconds": time.perf_counter() - began}
    if request.get("modules"):
        answer["modules"] = sorted({m.split(".")[0] for m in set(sys.modules) - before})
    return answer


def metrics_of(result: Any) -> dict[str, float]:
    """The metrics mapping returned by the entry point, as finite floats."""
    if not isinstance(result, dict) or not result:
        raise TypeError(f"the entry point must return a non-empty dict of metrics, "
                        f"got {type(result).__name__}")
    out = {}
    for name, value in result.items():
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"metric {name!r} is {number}")
        out[str(name)] = number
    return out


PRELOAD = ("numpy", "pandas", "scipy", "sklearn", "pyarrow", "pyarrow.parquet")


def serve(requests: Any = None, answers: Any = None) -> None:
    """Answer requests (default: standard input/output) until the input closes."""
    requests = requests or sys.stdin
    answers = answers or sys.stdout
    sys.stdout = sys.stderr
    workdir = Path.cwd()
    for line in requests:
        if line.strip():
            answers.write(json.dumps(handle(json.loads(line), workdir)) + "\n")
            answers.flush()


def fork_server() -> None:
    """Preload libraries, then fork a worker per request line {"workdir", "socket"}."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - a library that is missing is simply not preloaded
            continue
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if os.fork() == 0:
            _forked_worker(request["workdir"], request["socket"])


def _forked_worker(workdir: str, address: str) -> None:
    """In the child: move into the tree, connect back, serve; never return into the loop."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sys.stdin.close()
        os.chdir(workdir)
        sys.path.insert(0, workdir)
        importlib.invalidate_caches()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address)
        reader, writer = sock.makefile("r"), sock.makefile("w")
        writer.write(json.dumps({"pid": os.getpid()}) + "\n")
        writer.flush()
        serve(reader, writer)
    except BaseException:  # noqa: BLE001 - the child must never fall back into the server loop
        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    if "--fork-server" in sys.argv[1:]:
        fork_server()
    else:
        serve()
        sys.stderr.flush()
        os._exit(0)  # answers are flushed; skip tearing down the pipeline's libraries
