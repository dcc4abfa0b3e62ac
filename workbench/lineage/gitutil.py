"""Read-only git helpers: code state for manifests, history between runs, clean tree exports.

Every command runs with `GIT_OPTIONAL_LOCKS=0`, so even `git status` never rewrites the
repository's index: tracing a regression leaves the user's repository byte-for-byte unchanged.
Trees are exported with `git archive` into temporary folders; no worktree is registered in the
repository and nothing is checked out in it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from pathlib import Path

from workbench.lineage.errors import GitError
from workbench.lineage.results import CommitInfo, FileChange

_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}


def git(repo: Path | str, *args: str, check: bool = True) -> str:
    """Output of `git -C repo args...` as text; GitError naming the command when it fails."""
    return _git(repo, args, check).decode("utf-8", errors="replace")


def _git(repo: Path | str, args: tuple[str, ...], check: bool = True) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                              env={**os.environ, **_ENV}, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH; it is needed to read the code "
                       "history of the pipeline.") from exc
    if check and proc.returncode != 0:
        first = (proc.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[0]
        raise GitError(f"`git {' '.join(args)}` failed in {str(repo)!r}: {first}")
    return proc.stdout


def repo_root(path: Path | str) -> Path | None:
    """The top folder of the git repository containing path, or None outside any repository."""
    start = Path(path)
    start = start if start.is_dir() else start.parent
    proc = subprocess.run(["git", "-C", str(start), "rev-parse", "--show-toplevel"],
                          capture_output=True, env={**os.environ, **_ENV},
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        return None
    return Path(proc.stdout.decode().strip())


def resolve(repo: Path | str, rev: str) -> str:
    """Full commit hash of a revision; GitError saying the commit is missing otherwise."""
    out = _git(repo, ("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"), check=False)
    sha = out.decode().strip()
    if not sha:
        raise GitError(f"Commit {rev!r} is not in the repository {str(repo)!r}. Fetch it (or "
                       f"point --repo at the clone that has it) and trace again.")
    return sha


def status(repo: Path | str) -> dict[str, object]:
    """Commit, branch, dirty flag, hash of the uncommitted diff, and the commit's metadata."""
    commit = resolve(repo, "HEAD")
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    porcelain = git(repo, "status", "--porcelain", "--untracked-files=normal")
    diff = _git(repo, ("diff", "HEAD", "--binary"))
    untracked = [line[3:] for line in porcelain.splitlines() if line.startswith("??")]
    info = commit_info(repo, commit)
    return {
        "commit": commit, "branch": None if branch == "HEAD" else branch,
        "dirty": bool(porcelain.strip()),
        "diff_sha256": hashlib.sha256(diff).hexdigest() if diff else None,
        "untracked": len(untracked), "commit_time": info.time, "subject": info.subject,
        "remote": git(repo, "config", "--get", "remote.origin.url", check=False).strip() or None,
        "patch": diff,
    }


_FORMAT = "%H%x1f%an%x1f%aI%x1f%s"


def _parse_commit(line: str) -> CommitInfo:
    sha, author, time, subject = line.split("\x1f", 3)
    return CommitInfo(sha=sha, short=sha[:8], author=author, time=time, subject=subject)


def commit_info(repo: Path | str, rev: str) -> CommitInfo:
    """Author, time and subject of one commit."""
    return _parse_commit(git(repo, "show", "-s", f"--format={_FORMAT}", rev).strip())


def commits_between(repo: Path | str, good: str, bad: str) -> list[CommitInfo]:
    """Commits after `good` up to and including `bad`, oldest first (first-parent path)."""
    out = git(repo, "rev-list", "--first-parent", "--reverse", f"--format={_FORMAT}",
              "--no-commit-header", f"{good}..{bad}")
    return [_parse_commit(line) for line in out.splitlines() if line.strip()]


def is_ancestor(repo: Path | str, ancestor: str, descendant: str) -> bool:
    """Whether `ancestor` is reachable from `descendant`."""
    proc = subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", ancestor,
                           descendant], capture_output=True, env={**os.environ, **_ENV},
                          stdin=subprocess.DEVNULL)
    return proc.returncode == 0


def files_touched(repo: Path | str, good: str, bad: str) -> list[FileChange]:
    """Files that differ between two commits with their status and added/deleted lines."""
    stats: dict[str, tuple[int | None, int | None]] = {}
    for line in git(repo, "diff", "--numstat", "--no-renames", good, bad).splitlines():
        added, deleted, path = line.split("\t", 2)
        stats[path] = (None if added == "-" else int(added),
                       None if deleted == "-" else int(deleted))
    out = []
    for line in git(repo, "diff", "--name-status", "--no-renames", good, bad).splitlines():
        code, path = line.split("\t", 1)
        added, deleted = stats.get(path, (None, None))
        out.append(FileChange(path=path, status={"A": "added", "D": "deleted"}.get(
            code[0], "modified"), added=added, deleted=deleted))
    return out


def last_commit_touching(repo: Path | str, path: Path | str) -> str | None:
    """The last commit that changed a file (e.g. a `.dvc` file), or None if never committed."""
    out = git(repo, "log", "-1", "--format=%H", "--", str(path), check=False).strip()
    return out or None


def export_tree(repo: Path | str, commit: str, dest: Path) -> Path:
    """Write the files of `commit` into dest (created) without touching the repository."""
    dest.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(["git", "-C", str(repo), "archive", "--format=tar", commit],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **_ENV}, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        tar.extractall(dest, filter="data")
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.wait() != 0:
        raise GitError(f"Exporting commit {commit[:12]} of {str(repo)!r} failed: "
                       f"{err.strip() or 'no output'}")
    return dest
