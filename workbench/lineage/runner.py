"""Re-running the pipeline with chosen factors, in isolation, with an on-disk cache.

A `RunSpec` fixes every factor of a run: entry point, code commit (plus the recorded patch of a
dirty run), data versions, config and seed. The runner exports the commit's files with
`git archive` into a temporary folder (the user's repository and working tree are only read),
runs the entry point there in a worker process, and caches the metrics by the spec's identity,
so repeating a trace costs no training at all. Progress goes to an optional callback.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from workbench.lineage import gitutil
from workbench.lineage.cache import RunCache, run_key
from workbench.lineage.errors import DataVersionError, GitError, RunFailedError
from workbench.lineage.manifest import EntryPoint, Manifest
from workbench.lineage.profile import content_hash
from workbench.lineage.results import RunRecord
from workbench.results import jsonable

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DataRef:
    """A data input of a re-run: where it is and which version it must be.

    version: "sha256:<hex>" (checked against the file before running) or "derived:<hex>" for
    tables the workbench wrote itself (ablations), identified by how they were made.
    """

    path: str
    version: str

    @property
    def checked(self) -> bool:
        """Whether the file's content hash is verified before use."""
        return self.version.startswith("sha256:")


@dataclass(frozen=True)
class RunSpec:
    """Every factor of one re-run."""

    label: str
    entry: EntryPoint
    repo: str
    commit: str
    data: dict[str, DataRef]
    config: dict[str, Any]
    seed: int
    patch: str | None = None  # path of a diff applied on top of the commit
    patch_sha256: str | None = None
    tags: dict[str, str] = field(default_factory=dict, compare=False)

    def identity(self) -> dict[str, Any]:
        """What determines the run's result (the cache key is its hash)."""
        return {"entry": self.entry.to_dict(), "commit": self.commit, "patch": self.patch_sha256,
                "data": {role: ref.version for role, ref in sorted(self.data.items())},
                "config": jsonable(self.config), "seed": int(self.seed)}

    @property
    def key(self) -> str:
        """Cache key."""
        return run_key(self.identity())

    def replace(self, **changes: Any) -> RunSpec:
        """A copy with some factors changed."""
        return RunSpec(**{**self.__dict__, **changes})


def spec_from_manifest(manifest: Manifest, label: str, repo: str | Path | None = None,
                       eval_from: Manifest | None = None) -> RunSpec:
    """The run a manifest describes, with its own seed; the evaluation set may come from another.

    The evaluation set is the measuring instrument: comparisons between runs use one set.
    """
    if not manifest.code.commit:
        raise RunFailedError(f"The manifest of {manifest.name} records no git commit, so its "
                             f"code cannot be re-run. Capture manifests from a git repository.")
    root = str(repo or manifest.code.repo or "")
    if not root or not Path(root).is_dir():
        raise GitError(f"The repository of {manifest.name} ({manifest.code.repo!r}) is not "
                       f"available here. Pass --repo with a clone of it.")
    data = {d.role: DataRef(d.path, "sha256:" + d.sha256) for d in manifest.data}
    if eval_from is not None and manifest.evaluation and eval_from.evaluation:
        ev = eval_from.input(eval_from.evaluation)
        if ev is not None:
            data.pop(manifest.evaluation, None)
            data[eval_from.evaluation] = DataRef(ev.path, "sha256:" + ev.sha256)
    patch = manifest.patch_path if manifest.code.dirty else None
    return RunSpec(label=label, entry=manifest.entry_point, repo=root,
                   commit=manifest.code.commit, data=data, config=dict(manifest.config),
                   seed=manifest.seed, patch=str(patch) if patch and patch.is_file() else None,
                   patch_sha256=manifest.code.diff_sha256 if patch else None)


def _worker_env(workdir: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if workdir is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(workdir), os.environ.get("PYTHONPATH"))
                                            if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


class Worker:
    """A driver process serving runs of one exported tree, over a pair of text streams."""

    def __init__(self, reader: IO[str], writer: IO[str], pid: int, log: Path) -> None:
        self.reader, self.writer, self.pid, self.log = reader, writer, pid, log
        self.dead = False

    @classmethod
    def spawn(cls, workdir: Path, python: str, log: Path) -> Worker:
        """A fresh interpreter started in the tree."""
        with log.open("ab") as fh:
            proc = subprocess.Popen([python, "-m", "workbench.lineage.driver"], cwd=workdir,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=fh,
                                    env=_worker_env(workdir), text=True)
        assert proc.stdin is not None and proc.stdout is not None
        worker = cls(proc.stdout, proc.stdin, proc.pid, log)
        worker._proc = proc
        return worker

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait for its answer (the worker is killed on timeout)."""
        timer = threading.Timer(timeout, self.kill)
        timer.start()
        try:
            self.writer.write(json.dumps(request) + "\n")
            self.writer.flush()
            line = self.reader.readline()
        except (BrokenPipeError, OSError):
            line = ""
        finally:
            timer.cancel()
        if not line:
            self.dead = True
            tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
            return {"ok": False, "error": f"the worker process ended (killed after "
                    f"{timeout:.0f} s, or it crashed)", "traceback": tail}
        return json.loads(line)

    def kill(self) -> None:
        """Stop the process at once."""
        self.dead = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """End the process by closing its input (killed if it does not end)."""
        for stream in (self.writer, self.reader):
            with contextlib.suppress(OSError):
                stream.close()
        proc = getattr(self, "_proc", None)
        if proc is not None:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class ForkServer:
    """A process with the heavy libraries imported that forks one worker per tree."""

    def __init__(self, python: str, scratch: Path) -> None:
        self.scratch = scratch
        self.log = scratch / "fork-server.log"
        env = _worker_env()
        for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            env[name] = "1"  # native thread pools do not survive a fork
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen([python, "-m", "workbench.lineage.driver",
                                          "--fork-server"], cwd=scratch, stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=fh, env=env,
                                         text=True)
        self._count = 0

    def worker(self, workdir: Path, timeout: float = 120.0) -> Worker:
        """Fork a worker serving runs in workdir."""
        if self.proc.poll() is not None:
            raise OSError(f"the fork server exited with code {self.proc.returncode} (see "
                          f"{self.log})")
        self._count += 1
        address = str(self.scratch / f"w{self._count}.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(address)
            listener.listen(1)
            listener.settimeout(timeout)
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"workdir": str(workdir), "socket": address})
                                  + "\n")
            self.proc.stdin.flush()
            conn, _ = listener.accept()
        finally:
            listener.close()
        conn.settimeout(None)
        reader, writer = conn.makefile("r"), conn.makefile("w")
        conn.close()  # the file objects keep the connection open
        hello = json.loads(reader.readline() or "{}")
        if "pid" not in hello:
            raise OSError("the forked worker did not introduce itself")
        return Worker(reader, writer, int(hello["pid"]), self.log)

    def close(self) -> None:
        """Stop the server (workers end when their sockets close)."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Runner:
    """Runs RunSpecs in exported trees; counts re-runs and cache hits.

    Use as a context manager (or call close()) to stop workers and delete the temporary trees.
    """

    def __init__(self, cache: RunCache | None = None, progress: Progress | None = None,
                 jobs: int = 1, timeout: float = 900.0, python: str | None = None,
                 fork: bool = True) -> None:
        self.cache = cache if cache is not None else RunCache()
        self.progress = progress
        self.jobs = max(1, int(jobs))
        self.timeout = timeout
        self.python = python or sys.executable
        self.reruns = 0
        self.cache_hits = 0
        self.records: list[RunRecord] = []
        self._tmp = Path(tempfile.mkdtemp(prefix="wb-lineage-"))
        self._trees: dict[tuple[str, str, str | None], Path] = {}
        self._idle: dict[Path, list[Worker]] = {}
        self._workers: list[Worker] = []
        self._lock = threading.RLock()
        self._tree_lock = threading.Lock()
        self._hashes: dict[tuple[str, int, int], str] = {}
        self._fork = fork and hasattr(os, "fork") and hasattr(socket, "AF_UNIX")
        self._server: ForkServer | None = None

    # ---- public --------------------------------------------------------------------------------

    def run(self, spec: RunSpec) -> RunRecord:
        """The metrics of a spec: from the cache, else by running the pipeline."""
        key = spec.key
        hit = self.cache.get(key)
        if hit is not None:
            record = self._record(spec, key, hit["metrics"], hit.get("seconds", 0.0), True)
            with self._lock:
                self.cache_hits += 1
                self.records.append(record)
            self._say(f"cached: {spec.label}")
            return record
        self._check_data(spec)
        with self._lock:
            self.reruns += 1
            number = self.reruns
        self._say(f"re-run {number}: {spec.label} …")
        began = time.perf_counter()
        metrics = self._execute(spec)
        seconds = time.perf_counter() - began
        self.cache.put(key, {"metrics": metrics, "seconds": seconds, "label": spec.label,
                             "identity": spec.identity()})
        record = self._record(spec, key, metrics, seconds, False)
        with self._lock:
            self.records.append(record)
        self._say(f"re-run {number} done in {seconds:.1f} s: {spec.label}")
        return record

    def run_many(self, specs: Sequence[RunSpec]) -> list[RunRecord]:
        """Run several specs (in parallel up to `jobs`), results in the given order."""
        if self.jobs == 1 or len(specs) < 2:
            return [self.run(s) for s in specs]
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            return list(pool.map(self.run, specs))

    def close(self) -> None:
        """Stop every worker and delete the exported trees."""
        for worker in self._workers:
            worker.close()
        self._workers.clear()
        self._idle.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def scratch(self) -> Path:
        """Temporary folder of this runner (derived data files go here)."""
        return self._tmp

    # ---- internals -------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    @staticmethod
    def _record(spec: RunSpec, key: str, metrics: dict[str, float], seconds: float,
                cached: bool) -> RunRecord:
        config_sha = hashlib.sha256(json.dumps(jsonable(spec.config), sort_keys=True)
                                    .encode()).hexdigest()
        return RunRecord(key=key, label=spec.label, commit=spec.commit,
                         data={r: ref.version[:19] for r, ref in sorted(spec.data.items())},
                         config_sha256=config_sha, seed=spec.seed,
                         metrics={k: float(v) for k, v in metrics.items()},
                         seconds=float(seconds), cached=cached)

    def _check_data(self, spec: RunSpec) -> None:
        """Refuse to run on data that no longer is the recorded version."""
        for role, ref in spec.data.items():
            if not ref.checked:
                continue
            path = Path(ref.path)
            if not path.exists() and not any(c in ref.path for c in "*?["):
                raise DataVersionError(
                    f"The {role} data {ref.path!r} needed for '{spec.label}' is gone. Restore "
                    f"that version (e.g. `dvc checkout` at the manifest's revision) and retry.")
            stat_key = (ref.path, path.stat().st_size if path.is_file() else -1,
                        path.stat().st_mtime_ns if path.is_file() else -1)
            with self._lock:
                digest = self._hashes.get(stat_key)
            if digest is None:
                digest = content_hash(ref.path)
                with self._lock:
                    self._hashes[stat_key] = digest
            if "sha256:" + digest != ref.version:
                raise DataVersionError(
                    f"The {role} data {ref.path!r} changed since it was recorded (now "
                    f"sha256:{digest[:12]}, recorded {ref.version[:19]}). Restore the recorded "
                    f"version (e.g. `dvc checkout`) so '{spec.label}' re-runs what was trained.")

    def _tree(self, spec: RunSpec) -> Path:
        """The exported files of the spec's commit (and patch), created once per runner."""
        tkey = (spec.repo, spec.commit, spec.patch_sha256)
        with self._tree_lock:
            if tkey in self._trees:
                return self._trees[tkey]
            commit = gitutil.resolve(spec.repo, spec.commit)
            dest = self._tmp / f"tree-{len(self._trees):03d}-{commit[:10]}"
            gitutil.export_tree(spec.repo, commit, dest)
            if spec.patch:
                proc = subprocess.run(["git", "apply", "--whitespace=nowarn", spec.patch],
                                      cwd=dest, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise GitError(f"The recorded uncommitted diff {spec.patch!r} does not apply "
                                   f"to commit {commit[:10]}: {proc.stderr.strip()}")
            self._trees[tkey] = dest
            return dest

    def _execute(self, spec: RunSpec) -> dict[str, float]:
        tree = self._tree(spec)
        workdir = (tree / spec.entry.workdir).resolve()
        if spec.entry.callable:
            answer = self._call(workdir, spec)
        elif spec.entry.command:
            answer = self._command(workdir, spec)
        else:
            raise RunFailedError("The manifest's entry point names neither a callable nor a "
                                 "command; record one so the pipeline can be re-run.")
        if not answer.get("ok"):
            raise RunFailedError(
                f"Re-running '{spec.label}' (commit {spec.commit[:10]}, seed {spec.seed}) "
                f"failed: {answer.get('error')}\n{answer.get('traceback', '')}".rstrip())
        return answer["metrics"]

    def _call(self, workdir: Path, spec: RunSpec) -> dict[str, Any]:
        with self._lock:
            idle = self._idle.setdefault(workdir, [])
            worker = idle.pop() if idle else None
            if worker is None:
                worker = self._new_worker(workdir)
                self._workers.append(worker)
        request = {"callable": spec.entry.callable, "config": jsonable(spec.config),
                   "seed": int(spec.seed), "data": {r: ref.path for r, ref in spec.data.items()}}
        answer = worker.call(request, self.timeout)
        with self._lock:
            if not worker.dead:
                self._idle[workdir].append(worker)
        return answer

    def _new_worker(self, workdir: Path) -> Worker:
        """A worker forked from the fork server, else a fresh interpreter."""
        if self._fork:
            try:
                if self._server is None:
                    self._server = ForkServer(self.python, self._tmp)
                return self._server.worker(workdir)
            except OSError as exc:
                self._fork = False
                self._say(f"forking workers failed ({exc}); starting interpreters instead")
        return Worker.spawn(workdir, self.python,
                            self._tmp / f"worker-{len(self._workers):03d}.log")

    def _command(self, workdir: Path, spec: RunSpec) -> dict[str, Any]:
        run_dir = Path(tempfile.mkdtemp(dir=self._tmp, prefix="cmd-"))
        config_file = run_dir / "config.json"
        config_file.write_text(json.dumps(jsonable(spec.config)))
        metrics_file = run_dir / "metrics.json"
        assert spec.entry.command is not None
        try:
            text = spec.entry.command.format(
                data={r: ref.path for r, ref in spec.data.items()}, config=str(config_file),
                seed=int(spec.seed), metrics=str(metrics_file), python=self.python)
        except (KeyError, IndexError) as exc:
            return {"ok": False, "error": f"the command template names {exc}, which this run "
                    f"does not have (fields: data[ROLE], config, seed, metrics, python)"}
        began = time.perf_counter()
        try:
            proc = subprocess.run(shlex.split(text), cwd=workdir, capture_output=True,
                                  text=True, timeout=self.timeout, env=_worker_env())
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        if proc.returncode != 0:
            return {"ok": False, "error": f"the command exited with code {proc.returncode}",
                    "traceback": proc.stderr[-1500:]}
        try:
            from workbench.lineage.driver import metrics_of

            metrics = metrics_of(json.loads(metrics_file.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            return {"ok": False, "error": f"no usable metrics in {metrics_file}: {exc}"}
        return {"ok": True, "metrics": metrics, "seconds": time.perf_counter() - began}
