"""Binder, pyproject, Voila config, CI and README agree with each other.

Binder (repo2docker) installs `binder/requirements.txt` with pip from the repository root, on the
Python that `binder/runtime.txt` names (repo2docker's default without it is 3.10), then runs
`binder/postBuild`.  CI runs `.ci/run`, which must be the test command the README documents.
"""

import json
import os
import re
import tomllib
from pathlib import Path
from urllib.parse import unquote

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]
BINDER = REPO_ROOT / "binder"
README = REPO_ROOT / "README.md"
CI_RUN = REPO_ROOT / ".ci" / "run"
REPO2DOCKER_DEFAULT_PYTHON = "3.10"
SHELL_FENCES = {"", "bash", "sh", "shell", "console", "shell-session", "zsh"}


def pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def binder_installs() -> tuple[set[str], list[Requirement]]:
    """(extras of the project if binder installs the project itself, other requirements)."""
    project_extras: set[str] | None = None
    others = []
    for line in requirement_lines(BINDER / "requirements.txt"):
        target = re.sub(r"^(-e|--editable)[ =]\s*", "", line)
        local = re.fullmatch(r"(\.{1,2}(?:/[^\[\s]*)?)(?:\[([\w,\s-]+)\])?", target)
        if local:
            # pip reads local paths from its working directory: the repository root.
            assert (REPO_ROOT / local.group(1)).resolve() == REPO_ROOT, (
                f"binder/requirements.txt line {line!r} does not point at the repository root "
                "(repo2docker runs pip from the root, so use `-e .`)"
            )
            extras = {e.strip() for e in (local.group(2) or "").split(",") if e.strip()}
            project_extras = (project_extras or set()) | extras
            continue
        if line.startswith("-"):
            continue  # pip options such as --pre or --extra-index-url
        try:
            others.append(Requirement(line))
        except InvalidRequirement as exc:
            pytest.fail(f"binder/requirements.txt: cannot read {line!r}: {exc}")
    return project_extras, others


def test_binder_uses_requirements_txt_only():
    assert (BINDER / "requirements.txt").is_file()
    shadowing = [
        name
        for name in ("environment.yml", "Pipfile", "Pipfile.lock", "Project.toml", "Dockerfile")
        if (BINDER / name).exists()
    ]
    assert not shadowing, f"repo2docker would ignore binder/requirements.txt because of {shadowing}"


def test_binder_installs_every_runtime_dependency():
    project_extras, others = binder_installs()
    if project_extras is not None:
        declared = set(pyproject()["project"].get("optional-dependencies", {}))
        assert project_extras <= declared, f"unknown extras {project_extras - declared}"
        return  # pip installs the project, hence every [project] dependency
    installed = {canonicalize_name(req.name): req for req in others}
    unsatisfied = []
    for dep in map(Requirement, pyproject()["project"]["dependencies"]):
        req = installed.get(canonicalize_name(dep.name))
        pins = [spec.version for spec in (req.specifier if req else []) if spec.operator == "=="]
        if req is None or any(not dep.specifier.contains(pin, prereleases=True) for pin in pins):
            unsatisfied.append(str(dep))
    assert not unsatisfied, f"binder/requirements.txt does not satisfy {unsatisfied}"


def test_offline_chart_runtime_is_declared():
    """Altair's JupyterChart (the offline, interactive chart) needs anywidget at run time, and
    altair does not depend on it: without it every chart cell raises ImportError."""
    declared = {
        canonicalize_name(Requirement(dep).name) for dep in pyproject()["project"]["dependencies"]
    }
    assert "anywidget" in declared, "add 'anywidget' to [project] dependencies in pyproject.toml"


def test_binder_python_satisfies_requires_python():
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    runtime = BINDER / "runtime.txt"
    if runtime.exists():
        text = runtime.read_text(encoding="utf-8").strip()
        match = re.fullmatch(r"python-(\d+\.\d+)(?:\.\d+)?", text)
        assert match, f"binder/runtime.txt should read like 'python-3.11', not {text!r}"
        version, origin = match.group(1), "binder/runtime.txt"
    else:
        version, origin = REPO2DOCKER_DEFAULT_PYTHON, "repo2docker's default (no runtime.txt)"
    assert requires.contains(version), (
        f"Binder would run Python {version} ({origin}) but pyproject requires-python is {requires}"
    )


def test_binder_post_build_generates_the_sample():
    post_build = BINDER / "postBuild"
    assert post_build.is_file() and os.access(post_build, os.X_OK), (
        "binder/postBuild not executable"
    )
    commands = requirement_lines(post_build)
    assert "workbench sample" in commands, "binder/postBuild should run `workbench sample`"


def test_apps_notebook_exists():
    """The Binder link, `make app` and the CI smoke all open notebooks/triage.ipynb."""
    assert (REPO_ROOT / "notebooks" / "triage.ipynb").is_file()


def test_voila_config_hides_code_and_tracebacks():
    """voila.json at the root is read from the working directory by `voila` and by the
    Jupyter server extension (Binder's /voila/render/...)."""
    config = json.loads((REPO_ROOT / "voila.json").read_text(encoding="utf-8"))
    voila = config["VoilaConfiguration"]
    assert voila["strip_sources"] is True
    assert voila["show_tracebacks"] is False


# ---------------------------------------------------------------------------------------------
# README <-> CI


def readme_text() -> str:
    if not README.is_file():
        pytest.fail(
            "README.md does not exist yet: it must document the test command in a fenced shell "
            "block (a line starting `make test`) that .ci/run runs.",
            pytrace=False,
        )
    return README.read_text(encoding="utf-8")


def fenced_shell_lines(markdown: str) -> list[str]:
    lines, fence, language = [], None, ""
    for raw in markdown.splitlines():
        stripped = raw.strip()
        opener = re.match(r"^(`{3,}|~{3,})\s*([\w-]*)", stripped)
        if fence is None and opener:
            fence, language = opener.group(1), opener.group(2).lower()
        elif fence is not None and stripped.startswith(fence) and not stripped[len(fence) :]:
            fence = None
        elif fence is not None and language in SHELL_FENCES:
            lines.append(re.sub(r"^\$\s+", "", stripped))
    return lines


def make_test_commands(lines: list[str]) -> list[str]:
    """Lines running `make test`, whitespace-normalised, shell comments removed."""
    normalized = (" ".join(re.sub(r"\s+#.*$", "", line).split()) for line in lines)
    return [line for line in normalized if re.match(r"make test( |$)", line)]


def test_ci_runs_the_readme_test_command():
    documented = make_test_commands(fenced_shell_lines(readme_text()))
    assert documented, "README.md has no fenced shell block with a line starting `make test`"
    ci_lines = [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]
    ci_commands = make_test_commands([line for line in ci_lines if not line.startswith("#")])
    assert len(ci_commands) == 1, f".ci/run should call the test command once: {ci_commands}"
    assert ci_commands[0] in documented, (
        f".ci/run runs {ci_commands[0]!r}; the README documents {documented}"
    )
    assert os.access(CI_RUN, os.X_OK), ".ci/run must be executable"


def test_readme_binder_links_open_existing_notebooks():
    links = re.findall(r"[?&]urlpath=([^)\s\"'`&>]+)", readme_text())
    targets = [unquote(match) for match in links]
    missing = [
        target
        for target in targets
        if (path := re.sub(r"^/?voila/render/", "", target)) != target
        and not (REPO_ROOT / path).is_file()
    ]
    assert not missing, f"README Binder links open notebooks that do not exist: {missing}"


def test_fenced_shell_reader():
    markdown = "\n".join(
        [
            "```bash",
            "make venv",
            "$ make test",
            "```",
            "```python",
            "make test_in_python = 1",
            "```",
            "~~~",
            "make   test PYTEST_ARGS=-x",
            "~~~",
        ]
    )
    assert make_test_commands(fenced_shell_lines(markdown)) == [
        "make test",
        "make test PYTEST_ARGS=-x",
    ]
