"""Delta experiments: the bad run re-run with one factor at a time taken from the good run.

Everything else stays fixed, including the seed (the bad run's). Run-to-run noise comes from
repeating the bad baseline with other seeds; a factor's effect is judged against that band:
`recovery` (the metric's improvement over the bad baseline) beyond ±half_width is a real effect,
inside it is indistinguishable from reseeding. The good reference is the good run's factors at
the bad run's seed on the bad run's evaluation set, so the gap it opens is comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.lineage.errors import RunFailedError
from workbench.lineage.manifest import Manifest
from workbench.lineage.results import DeltaExperiments, FactorEffect, ManifestDiff, NoiseBand
from workbench.lineage.runner import Runner, RunSpec, spec_from_manifest

Z = 2.0
# A factor is named the culprit when it recovers at least this share of the gap beyond noise.
CULPRIT_SHARE = 0.5
REPRODUCE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Setup:
    """The specs every experiment derives from."""

    bad: RunSpec
    good: RunSpec  # the good run's factors at the bad run's seed, bad run's evaluation set
    metric: str
    higher_is_better: bool

    def improvement(self, before: float, after: float) -> float:
        """How much better `after` is than `before` (negative: worse)."""
        return after - before if self.higher_is_better else before - after


def setup(good: Manifest, bad: Manifest, repo: str | None = None,
          metric: str | None = None) -> Setup:
    """Specs of the bad baseline and the good reference, checked to report the metric."""
    metric = metric or bad.metric
    for m in (good, bad):
        if metric not in m.metrics:
            raise RunFailedError(f"The metric {metric!r} is not recorded for {m.name} (it has "
                                 f"{', '.join(m.metrics)}); pick one both runs report.")
    bad_spec = spec_from_manifest(bad, f"bad run {bad.name}", repo)
    good_spec = spec_from_manifest(good, f"good run {good.name} at seed {bad.seed}", repo,
                                   eval_from=bad).replace(seed=bad.seed)
    return Setup(bad=bad_spec, good=good_spec, metric=metric,
                 higher_is_better=bad.higher_is_better(metric))


def factor_specs(s: Setup, good: Manifest, bad: Manifest,
                 diff: ManifestDiff) -> dict[str, tuple[str, RunSpec]]:
    """factor -> (description, spec) for every re-runnable factor that differs."""
    out: dict[str, tuple[str, RunSpec]] = {}
    eval_role = bad.evaluation
    if "data" in diff.factors:
        data = dict(s.bad.data)
        for role, ref in s.good.data.items():
            if role != eval_role:
                data[role] = ref
        roles = ", ".join(d.role for d in diff.data if d.changed and d.role != eval_role)
        out["data"] = (f"{roles} data of {good.name}",
                       s.bad.replace(data=data, label=f"bad run with {roles} data of "
                                                      f"{good.name}"))
    if "code" in diff.factors:
        out["code"] = (f"code of {good.name} ({(good.code.commit or '')[:8]})",
                       s.bad.replace(commit=s.good.commit, patch=s.good.patch,
                                     patch_sha256=s.good.patch_sha256, entry=s.good.entry,
                                     repo=s.good.repo,
                                     label=f"bad run with code of {good.name} "
                                           f"({(good.code.commit or '')[:8]})"))
    if "config" in diff.factors:
        keys = ", ".join(c.key for c in diff.config)
        out["config"] = (f"config of {good.name} ({keys})",
                         s.bad.replace(config=dict(s.good.config),
                                       label=f"bad run with config of {good.name}"))
    return out


def noise_band(runner: Runner, spec: RunSpec, metric: str, repeats: int,
               z: float = Z) -> NoiseBand:
    """Repeat a spec with seeds seed, seed+1, ... and measure the metric's spread."""
    if repeats < 2:
        raise RunFailedError("Estimating run-to-run noise needs at least 2 repeats.")
    seeds = [spec.seed + i for i in range(repeats)]
    runs = runner.run_many([spec.replace(seed=k, label=f"{spec.label}, seed {k} (noise)")
                            if k != spec.seed else spec for k in seeds])
    values = np.array([r.metrics[metric] for r in runs])
    std = float(values.std(ddof=1))
    return NoiseBand(metric=metric, seeds=tuple(seeds), values=tuple(float(v) for v in values),
                     mean=float(values.mean()), std=std, half_width=z * std * math.sqrt(2),
                     z=z)


def delta_experiments(good: Manifest, bad: Manifest, diff: ManifestDiff, runner: Runner,
                      repo: str | None = None, metric: str | None = None,
                      repeats: int = 5) -> DeltaExperiments:
    """Attribute the metric change to each re-runnable factor, against the noise band."""
    s = setup(good, bad, repo, metric)
    noise = noise_band(runner, s.bad, s.metric, repeats)
    bad_value = noise.values[0]
    good_value = runner.run(s.good).metrics[s.metric]
    gap = s.improvement(bad_value, good_value)
    band = noise.half_width
    effects = []
    for factor, (description, spec) in factor_specs(s, good, bad, diff).items():
        run = runner.run(spec)
        value = run.metrics[s.metric]
        recovery = s.improvement(bad_value, value)
        share = recovery / gap if gap > band and gap > 0 else None
        beyond = abs(recovery) > band
        effects.append(FactorEffect(factor=factor, description=description, metric_value=value,
                                    recovery=recovery, share_of_gap=share, beyond_noise=beyond,
                                    verdict=_verdict(recovery, share, band), run=run))
    notes = []
    culprit = None
    if gap <= band:
        notes.append(f"The good run's factors improve {s.metric} by {gap:+.4f}, inside the "
                     f"noise band ±{band:.4f}: the regression is not distinguishable from "
                     f"reseeding.")
    else:
        ranked = sorted(effects, key=lambda e: -e.recovery)
        best = ranked[0] if ranked else None
        if best and best.beyond_noise and (best.share_of_gap or 0) >= CULPRIT_SHARE:
            culprit = best.factor
        total = sum(e.recovery for e in effects)
        if len(effects) > 1 and abs(total - gap) > 2 * band:
            notes.append(f"The single-factor recoveries add up to {total:+.4f}, not the gap "
                         f"{gap:+.4f}: the factors interact.")
    not_rerun = tuple(f for f in diff.factors if f in ("libraries", "platform"))
    if not_rerun:
        notes.append(f"{' and '.join(not_rerun).capitalize()} differ between the runs; re-runs "
                     f"use this machine's, so their effect is not measured.")
    recorded = bad.metrics.get(s.metric)
    reproduced = None if recorded is None else abs(recorded - bad_value) <= \
        REPRODUCE_TOLERANCE * max(1.0, abs(recorded))
    if reproduced is False:
        notes.append(f"Re-running the bad run gave {s.metric} {bad_value:.4f}, not the recorded "
                     f"{recorded:.4f}: the pipeline is not fully reproducible here.")
    return DeltaExperiments(
        metric=s.metric, higher_is_better=s.higher_is_better, seed=bad.seed, bad_value=bad_value,
        good_value=good_value, gap=gap, noise=noise, effects=tuple(effects), culprit=culprit,
        not_rerun=not_rerun, recorded_bad=recorded, reproduced=reproduced, notes=tuple(notes))


def _verdict(recovery: float, share: float | None, band: float) -> str:
    change = f"{recovery:+.4f} vs noise ±{band:.4f}"
    if abs(recovery) <= band:
        return f"no effect beyond noise ({change})"
    if recovery < 0:
        return f"makes it worse ({change})"
    if share is not None:
        return f"restores {share:.0%} of the gap ({change})"
    return f"improves the metric ({change})"
