"""`workbench manifest capture|show`: record a run manifest next to a model, or read one.

`--out` is always the model's folder (created when missing; `models/v1.2` is a folder), the
manifest is written inside it as manifest.json. Library versions come from the entry point's
imports; an undeclared metric direction is guessed from the name with a warning on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from workbench.exceptions import InvalidInputError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommand."""
    m = sub.add_parser("manifest", help="record or show the run manifest of a trained model")
    actions = m.add_subparsers(dest="action", required=True)
    c = actions.add_parser("capture", help="record a manifest (see docs/manifest-schema.md)")
    c.add_argument("--out", type=Path, required=True,
                   help="the model's folder, created when missing (manifest.json inside)")
    entry = c.add_mutually_exclusive_group(required=True)
    entry.add_argument("--entry", help="entry point 'package.module:function'")
    entry.add_argument("--command", dest="command_template",
                       help="entry point command template, e.g. 'python train.py --train "
                       "{data[train]} --config {config} --seed {seed} --metrics {metrics}'")
    c.add_argument("--workdir", default=".", help="folder runs start in, relative to the "
                   "repository root (default: found from --entry, else '.')")
    c.add_argument("--data", action="append", default=[], metavar="ROLE=PATH", required=True,
                   help="a data input (repeat): e.g. train=data/v3.parquet eval=data/eval.parquet")
    c.add_argument("--config", help="config/hyperparameters (JSON or TOML file)")
    c.add_argument("--seed", type=int, default=0, help="the seed the entry point receives")
    metrics = c.add_mutually_exclusive_group(required=True)
    metrics.add_argument("--metrics", type=Path, help="JSON file of {metric: value}")
    metrics.add_argument("--metric", action="append", metavar="NAME=VALUE",
                         help="one metric (repeat)")
    metrics.add_argument("--run", action="store_true",
                         help="run the entry point now (working tree as is) to get the metrics")
    c.add_argument("--evaluation", default="eval", help="role of the evaluation set")
    c.add_argument("--primary-metric", help="metric traces compare (default: the first)")
    c.add_argument("--metric-direction", choices=("lower", "higher"),
                   help="which way the primary metric improves (default: from its name, with "
                   "a warning; see docs/manifest-schema.md)")
    c.add_argument("--lower-is-better", default="", help="comma-separated metric names")
    c.add_argument("--model-version", help="version the model is served under")
    c.add_argument("--model", type=Path, help="model file (hashed into the manifest)")
    c.add_argument("--label", help="label column (label balance and segment label rates)")
    c.add_argument("--features", default="", help="comma-separated model features (ablations)")
    c.add_argument("--drop-key", help="config key the pipeline reads features to leave out from")
    c.add_argument("--repo", type=Path, help="git repository of the code (default: found)")
    c.set_defaults(func=capture)
    s = actions.add_parser("show", help="print a manifest's summary (or --json)")
    s.add_argument("manifest", type=Path)
    s.add_argument("--json", action="store_true", help="print the whole document")
    s.set_defaults(func=show)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise InvalidInputError(f"{what} must look like NAME=VALUE. Got {item!r}.")
        out[key] = value
    return out


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def out_folder(out: Path) -> Path:
    """The --out folder, created; an existing file there is an error."""
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {str(out)!r} is a file; --out names the model's folder "
                                f"(the manifest is written inside it as manifest.json). Pass a "
                                f"folder, e.g. models/v1.2.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def capture(args: argparse.Namespace) -> int:
    """Record the manifest and print its path."""
    from workbench.lineage.directions import MetricDirectionWarning
    from workbench.lineage.libraries import distributions_of
    from workbench.lineage.manifest import EntryPoint, capture_manifest, read_config

    data = _pairs(args.data, "--data")
    # (args.command is the CLI's subcommand name; the template is args.command_template)
    entry = EntryPoint(callable=args.entry, command=args.command_template,
                       workdir=args.workdir, drop_key=args.drop_key) \
        if args.command_template or args.workdir != "." else args.entry
    if args.metrics:
        try:
            metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"--metrics {str(args.metrics)!r} is not a readable JSON "
                                    f"file: {exc}.") from exc
    elif args.metric:
        metrics = _pairs(args.metric, "--metric")
    out = out_folder(args.out)
    modules: list[str] = []
    if args.run:
        metrics, modules = _run_now(args, out, data, read_config(args.config))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MetricDirectionWarning)
        manifest = capture_manifest(
            out, entry_point=entry, data=data, config=args.config, seeds=args.seed,
            metrics=metrics, evaluation=args.evaluation or None,
            primary_metric=args.primary_metric, lower_is_better=_split(args.lower_is_better),
            metric_direction=args.metric_direction, model_version=args.model_version,
            model_path=args.model, label=args.label, features=_split(args.features),
            drop_key=args.drop_key if isinstance(entry, str) else None, repo=args.repo,
            libraries=distributions_of(modules), loaded_modules=False)
    for w in caught:
        if issubclass(w.category, MetricDirectionWarning):
            print(f"workbench: warning: {w.message}", file=sys.stderr)
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    print(manifest.path)
    return 0


def _run_now(args: argparse.Namespace, out: Path, data: dict[str, str],
             config: dict) -> tuple[dict, list[str]]:
    """Call the entry point once in the working tree: its metrics and the modules it imported."""
    from workbench.lineage import gitutil
    from workbench.lineage.errors import RunFailedError
    from workbench.lineage.manifest import EntryPoint, entry_repo, entry_workdir
    from workbench.lineage.runner import Worker

    if not args.entry:
        raise InvalidInputError("--run works with --entry; for a command, run it and pass "
                                "--metrics.")
    root = args.repo.resolve() if args.repo else (
        entry_repo(EntryPoint(callable=args.entry)) or gitutil.repo_root(Path.cwd()))
    if root is None:
        workdir = Path.cwd()
    elif args.workdir != ".":
        workdir = root / args.workdir
    else:
        workdir = root / entry_workdir(args.entry, root)
    worker = Worker.spawn(workdir, sys.executable, out / "run.log")
    try:
        answer = worker.call({"callable": args.entry, "data": {k: str(Path(v).resolve())
                                                               for k, v in data.items()},
                              "config": config, "seed": args.seed, "modules": True},
                             timeout=3600)
    finally:
        worker.close()
    if not answer.get("ok"):
        raise RunFailedError(f"Running {args.entry} failed: {answer.get('error')}")
    return answer["metrics"], list(answer.get("modules") or [])


def show(args: argparse.Namespace) -> int:
    """Print the manifest."""
    from workbench.lineage.manifest import load_manifest

    m = load_manifest(args.manifest)
    if args.json:
        print(json.dumps(m.to_dict(), indent=2))
        return 0
    code = m.code
    lines = [f"Run {m.name} ({m.run_id[:12]}), created {m.created}",
             f"Entry:   {m.entry_point.describe()} (workdir {m.entry_point.workdir})",
             f"Code:    {code.repo} @ {(code.commit or 'no git')[:10]}"
             + (" (dirty)" if code.dirty else "") + (f" - {code.subject}" if code.subject else ""),
             f"Seeds:   {m.seeds}", f"Config:  {json.dumps(m.config)}",
             "Metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in m.metrics.items())
             + f" (on {m.evaluation}; primary {m.metric}, "
             f"{'higher' if m.higher_is_better() else 'lower'} is better"
             f"{'' if m.direction_declared() else ', guessed from its name'})", "Data:"]
    for d in m.data:
        rows = d.summary.rows if d.summary else "?"
        dvc = f", DVC {d.dvc.md5} @ {(d.dvc.rev or 'uncommitted')[:10]}" if d.dvc else ""
        lines.append(f"  {d.role:<6} {d.path} ({rows} rows, {d.version_id}{dvc})")
    print("\n".join(lines))
    return 0
