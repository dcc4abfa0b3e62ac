"""Every bad-input case gives a clear one-line error (exit 2) or a correct result (exit 0).

Each case writes the valid base incident with one thing broken into its own folder and runs the
real CLI in-process (`workbench.cli.main`); a few run in a real subprocess too, to prove no
traceback escapes. Input files are hashed before and after: the workbench never writes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

from tests.bad_inputs import (
    cases_changes,
    cases_cli,
    cases_config,
    cases_model,
    cases_more,
    cases_sources,
    cases_values,
)
from tests.bad_inputs.base import Builder
from tests.bad_inputs.case import CASES, Case

# A numeric warning is printed on a user's terminal: every case must run without one.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

# Importing a case module registers its cases; they run in this order of modules.
MODULES = (cases_config, cases_cli, cases_sources, cases_values, cases_changes, cases_model,
           cases_more)
_RANK = {module.__name__: i for i, module in enumerate(MODULES)}
ORDERED = sorted(CASES, key=lambda c: _RANK[c.build.__module__])
PREFIX = "workbench: error: "
MAX_LINE = 1500  # an error line quotes no value in full, so it stays short whatever the input
MAX_TOKEN = 300  # no run of non-blank characters longer than this (a value quoted in full)
# One case per layer an error can come from: config, argparse, the data files, the change log.
IN_SUBPROCESS = ("config_latin1", "bucket_arg_negative_as_an_option", "parquet_truncated",
                 "changes_unparseable_time")


def _param(c: Case) -> Any:
    """The case as a test parameter; a pending one must fail until its fix lands."""
    marks = [pytest.mark.xfail(strict=True, reason=f"pending: {c.pending}")] if c.pending else []
    return pytest.param(c, id=c.id, marks=marks)


def snapshot(folder: Path) -> dict[str, str]:
    """A digest of every file and symlink under folder (links by their target, not followed)."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = Path(root, name)
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                out[rel] = "link -> " + os.readlink(path)
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def prepare(c: Case, folder: Path) -> Path:
    """Write the case's incident into folder."""
    builder = Builder()
    c.build(builder)
    return builder.write(folder)


def run_in_process(argv: tuple[str, ...]) -> tuple[int, str, str]:
    """`workbench ARGV` in this process: (exit code, stdout, stderr)."""
    from workbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse exits on its own errors
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:  # what the console script would print as a traceback
            err.write(traceback.format_exc())
            code = 1
    return code, out.getvalue(), err.getvalue()


def dig(doc: Any, path: str) -> Any:
    """The value at a dotted path of the JSON document."""
    for key in path.split("."):
        doc = doc[int(key)] if isinstance(doc, list) else doc[key]
    return doc


def _no_nan(token: str) -> None:
    raise AssertionError(f"non-standard JSON constant {token} in the output")


def check_outcome(c: Case, code: int, out: str, err: str) -> None:
    """Assert the exit code and output the case expects."""
    assert "Traceback" not in err, err[-3000:]
    assert code == c.exit, f"exit {code}, expected {c.exit}; stderr: {err[-2000:]}"
    if c.exit == 2:
        assert out == "", out[:2000]
        lines = err.splitlines()
        assert len(lines) == 1, err[-3000:]
        line = lines[0]
        assert line.startswith(PREFIX), line
        assert len(line) <= MAX_LINE, f"{len(line)} characters: {line[:500]}..."
        longest = max(line.split(), key=len)
        assert len(longest) <= MAX_TOKEN, f"quotes {len(longest)} characters: {longest[:200]}..."
        missing = [f for f in c.error if f.lower() not in line.lower()]
        assert not missing, f"{missing} not in: {line}"
        present = [f for f in c.absent if f.lower() in line.lower()]
        assert not present, f"{present} in: {line}"
        return
    assert err == "", err[-3000:]
    doc = json.loads(out, parse_constant=_no_nan)
    for path, expected in c.json.items():
        assert dig(doc, path) == expected, f"{path}: {dig(doc, path)!r}, expected {expected!r}"
    if c.notes:
        notes = [str(n).lower() for n in doc.get("notes", [])]
        assert any(all(f.lower() in n for f in c.notes) for n in notes), (
            f"no note holds {c.notes}: {doc.get('notes')}")
    if c.check is not None:
        c.check(doc)


def test_the_corpus_is_large_and_documented():
    assert len(ORDERED) == len(CASES) >= 80
    assert all(c.why for c in CASES)
    assert {c.id for c in CASES} >= set(IN_SUBPROCESS)
    assert not [c.id for c in CASES if c.id in IN_SUBPROCESS and c.pending]
    assert all(c.exit in (0, 2) for c in CASES)
    assert all(c.error for c in CASES if c.exit == 2)


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A case folder as the working directory, with a journal home outside it."""
    folder = tmp_path / "incident"
    folder.mkdir()
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(folder)
    return folder


@pytest.mark.parametrize("c", [_param(c) for c in ORDERED])
def test_case(c: Case, isolated: Path):
    prepare(c, isolated)
    before = snapshot(isolated)
    code, out, err = run_in_process(c.argv)
    assert snapshot(isolated) == before, "the command changed or added files in the incident"
    check_outcome(c, code, out, err)


@pytest.mark.slow
@pytest.mark.parametrize("c", [_param(c) for c in ORDERED if c.id in IN_SUBPROCESS])
def test_case_in_a_subprocess(c: Case, isolated: Path, tmp_path: Path):
    prepare(c, isolated)
    before = snapshot(isolated)
    env = {**os.environ, "WORKBENCH_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", *c.argv], cwd=isolated,
                          env=env, capture_output=True, text=True, timeout=120)
    assert snapshot(isolated) == before
    assert not re.search(r"Traceback|Error:\s*$", proc.stderr), proc.stderr[-3000:]
    check_outcome(c, proc.returncode, proc.stdout, proc.stderr)
