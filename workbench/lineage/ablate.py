"""Ablations: re-run without one feature at a time (or with one column swapped in from the good
data version) and report the metric change per feature against the noise band.

`drop` leaves a feature out through the pipeline's own switch (the entry point's `drop_key`, a
config key listing features to leave out); a pipeline without one gets the data-level
equivalent, the column replaced by its most frequent value in a temporary copy of the training
data. With the good run given, each feature is ablated in both runs: a feature whose ablation
closes the good-vs-bad gap (`gap_explained` near 1) is where the regression lives. `swap`
replaces one column of the bad training data by the good version's values, matched on a row
key, and ranks columns by how much of the gap that restores. Rewritten tables keep the input's
format and layout (`formats`): the pipeline reads them with its own loader.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.data import formats, queries
from workbench.data.snapshots import Snapshots
from workbench.exceptions import InvalidInputError
from workbench.lineage.experiments import Setup, noise_band, setup
from workbench.lineage.manifest import Manifest
from workbench.lineage.results import Ablation, AblationRow
from workbench.lineage.runner import DataRef, Runner, RunSpec

if TYPE_CHECKING:
    from workbench.journal import Journal, JournalEntry

MODES = ("drop", "swap")


def ablate(bad: Manifest, runner: Runner, good: Manifest | None = None,
           features: list[str] | None = None, mode: str = "drop", key: str | None = None,
           role: str = "train", repo: str | None = None, metric: str | None = None,
           repeats: int = 5) -> Ablation:
    """Per-feature ablation re-runs of the bad run (and of the good one when given)."""
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}. Got {mode!r}.")
    if mode == "swap" and (good is None or key is None):
        raise InvalidInputError("mode 'swap' needs the good run (--against) and a row key "
                                "(--key) to match rows of the two data versions.")
    s = setup(good or bad, bad, repo, metric)
    if s.bad.data.get(role) is None:
        raise InvalidInputError(f"The bad run has no {role!r} data input (it has "
                                f"{', '.join(s.bad.data)}); pass --role.")
    features = list(features or _default_features(bad, role, mode, key))
    if not features:
        raise InvalidInputError(f"No features to ablate: the manifest of {bad.name} lists none. "
                                f"Pass --features a,b,c.")
    before_runs, before_hits = runner.reruns, runner.cache_hits
    band = noise_band(runner, s.bad, s.metric, repeats).half_width
    base_bad = runner.run(s.bad).metrics[s.metric]
    base_good = runner.run(s.good).metrics[s.metric] if good is not None else None
    gap = s.improvement(base_bad, base_good) if base_good is not None else None
    notes = []
    if mode == "drop" and not s.bad.entry.drop_key:
        notes.append("The pipeline declares no drop_key, so each feature was neutralised in "
                     "the training data (replaced by its most frequent value).")
    if mode == "drop":
        bad_specs = [_dropped(s.bad, f, role, runner) for f in features]
        good_specs = [_dropped(s.good, f, role, runner) for f in features] if good else []
    else:
        bad_specs = [_swapped(s, f, role, key or "", runner) for f in features]
        good_specs = []
    runs = runner.run_many(bad_specs + good_specs)
    values = [r.metrics[s.metric] for r in runs]
    bad_values, good_values = values[:len(features)], values[len(features):]
    rows = []
    for i, feature in enumerate(features):
        m_bad = bad_values[i]
        m_good = good_values[i] if good_values else None
        explained = None
        beyond = abs(m_bad - base_bad) > band
        if gap is not None and gap > band:
            if m_good is not None:
                closed = gap - s.improvement(m_bad, m_good)  # how much of the gap went away
                explained, beyond = closed / gap, abs(closed) > band
            else:
                explained = s.improvement(base_bad, m_bad) / gap
        rows.append(AblationRow(
            feature=feature, metric_bad=m_bad, delta_bad=m_bad - base_bad,
            beyond_noise=beyond, metric_good=m_good,
            delta_good=None if m_good is None or base_good is None else m_good - base_good,
            gap_explained=explained))
    if gap is not None and gap <= band:
        notes.append(f"The good-vs-bad gap ({gap:+.4f}) is inside the noise band ±{band:.4f}; "
                     f"features are ranked by their effect on the bad run.")
    if any(r.gap_explained is not None for r in rows):
        ranked_by = "gap_explained"
        rows.sort(key=lambda r: -(r.gap_explained or 0.0))
    else:
        ranked_by = "importance in the bad run"
        rows.sort(key=lambda r: -s.improvement(r.metric_bad, base_bad))
    return Ablation(mode=mode, metric=s.metric, higher_is_better=s.higher_is_better,
                    seed=s.bad.seed, baseline_bad=base_bad, baseline_good=base_good, band=band,
                    rows=tuple(rows), reruns=runner.reruns - before_runs,
                    cached=runner.cache_hits - before_hits, ranked_by=ranked_by,
                    notes=tuple(notes))


def _default_features(bad: Manifest, role: str, mode: str, key: str | None) -> list[str]:
    """The model's features (drop), or every column but the key, label included (swap)."""
    if mode == "drop" and bad.features:
        return list(bad.features)
    data = bad.input(role)
    if data is None or data.summary is None:
        return list(bad.features)
    skip = {key} if mode == "swap" else {key, bad.label}
    return [c.name for c in data.summary.columns if c.name not in skip and c.kind != "other"]


def _dropped(spec: RunSpec, feature: str, role: str, runner: Runner) -> RunSpec:
    """The spec without one feature: through the pipeline's drop_key, else in the data."""
    label = f"{spec.label} without {feature}"
    drop_key = spec.entry.drop_key
    if drop_key:
        current = list(spec.config.get(drop_key) or [])
        return spec.replace(config={**spec.config, drop_key: current + [feature]}, label=label)
    source = spec.data[role]
    recipe = f"constant:{feature}:{source.version}"
    path = _derived(runner, recipe, source.path,
                    lambda schema, _donor: queries.constant_column(schema, feature))
    return spec.replace(data={**spec.data, role: DataRef(str(path), "derived:" + _h(recipe))},
                        label=label)


def _swapped(s: Setup, column: str, role: str, key: str, runner: Runner) -> RunSpec:
    """The bad spec with one column of its training data taken from the good version."""
    source, donor = s.bad.data[role], s.good.data[role]
    recipe = f"swap:{column}:{key}:{source.version}:{donor.version}"
    path = _derived(runner, recipe, source.path,
                    lambda schema, donor_schema: queries.swap_column(schema, donor_schema or {},
                                                                     column, key),
                    donor=donor.path)
    return s.bad.replace(data={**s.bad.data, role: DataRef(str(path), "derived:" + _h(recipe))},
                         label=f"{s.bad.label} with {column} from the good data")


Build = Callable[[dict[str, str], dict[str, str] | None], queries.Sql]


def _derived(runner: Runner, recipe: str, source: str, build: Build,
             donor: str | None = None) -> Path:
    """Write (once per runner) the table a recipe describes, in the source's own format.

    CSV is rewritten as text (every value as written, the same delimiter and header) unless a
    donor in another format needs typed columns to join.
    """
    with Snapshots() as snap:
        like = snap.layout(source)
        dest = runner.scratch / "derived" / _h(recipe)[:16]
        target, handed = formats.targets(like, dest)
        if target.is_file():
            return handed
        other = snap.layout(donor) if donor is not None else None
        text = like.format.kind == "csv" and (other is None or other.format.kind == "csv")
        source_schema = snap.register(like, "source", text=text)
        donor_schema = snap.register(other, "donor", text=text) if other is not None else None
        return snap.write_like(build(source_schema, donor_schema), like, dest)


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def record_ablation(journal: Journal, result: Ablation, bad: Manifest,
                    good: Manifest | None) -> JournalEntry:
    """A check entry: the ablation's parameters and every feature's figures."""
    top = result.top
    text = (f"Ablation ({result.mode}) of {bad.name}: {top.feature} ranks first by "
            f"{result.ranked_by}" if top else f"Ablation ({result.mode}) of {bad.name}")
    return journal.record_check(
        "lineage.ablate", text=text,
        params={"bad": str(bad.path or bad.name), "good": str(good.path or good.name)
                if good else None, "mode": result.mode, "metric": result.metric,
                "seed": result.seed},
        result={"baseline_bad": result.baseline_bad, "baseline_good": result.baseline_good,
                "noise_half_width": result.band, "ranked_by": result.ranked_by,
                "rows": [r.to_dict() for r in result.rows], "reruns": result.reruns,
                "cached": result.cached})
