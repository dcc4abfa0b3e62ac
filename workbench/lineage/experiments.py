"""Delta experiments: a 2^k factorial over the factors the good and the bad run differ in.

Every combination of the changed factors (data, code, config; k <= 4) is taken from the good run
into the bad one, everything else fixed, including the seed (the bad run's). Run-to-run noise
comes from repeating the bad baseline with other seeds (with several factors the good reference
too, the larger spread counting); every contrast is judged against the band of its own number
of runs (`NoiseBand.band`). Per factor:

- `recovery`: the bad run with only this factor from the good run (the others bad);
- `damage`: how much worse the good run gets with only this factor from the bad run (the others
  good), which shows an effect another bad factor hides;
- `shapley`: the factor's fair share of the gap, its effect averaged over every order of
  swapping the factors in (the shares add up to the gap).

An interaction of a set of factors is the recovery of swapping them together minus what their
sub-combinations explain (for two factors: the sum of their separate costs minus their joint
cost; positive when one hides the other); it is real when beyond its band. A factor carries an
effect when its recovery or its damage is harmful beyond the band; those factors are the
culprits, each then bisected (`workbench.lineage.trace`). The good reference is the good run's
factors at the bad run's seed on the bad run's evaluation set, so the gap it opens is comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.lineage.errors import RunFailedError
from workbench.lineage.factors import Context, Design, changed_factors
from workbench.lineage.manifest import Manifest
from workbench.lineage.results import (
    DeltaExperiments,
    FactorEffect,
    FactorialCell,
    InteractionEffect,
    ManifestDiff,
    NoiseBand,
    figure,
)
from workbench.lineage.runner import Runner, RunSpec, spec_from_manifest

Z = 2.0
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
                     z=z, runs=tuple(r.key for r in runs))


def both_ends(bad: NoiseBand, good: NoiseBand) -> NoiseBand:
    """One band from the noise at the bad baseline and at the good reference: the wider one."""
    std = max(bad.std, good.std)
    return NoiseBand(metric=bad.metric, seeds=bad.seeds, values=bad.values, mean=bad.mean,
                     std=std, half_width=bad.z * std * math.sqrt(2), z=bad.z,
                     runs=tuple(dict.fromkeys(bad.runs + good.runs)), bad_std=bad.std,
                     good_values=good.values, good_std=good.std)


@dataclass(frozen=True)
class Factorial:
    """A finished factorial: the result, the design (specs and runs) and its setup."""

    result: DeltaExperiments
    design: Design
    setup: Setup

    def context(self, factor: str) -> Context | None:
        """Where to bisect a factor: with the others good when that shows its effect, else bad.

        None when the factor's effect is inside the noise band in both settings.
        """
        exp, d, metric = self.result, self.design, self.setup.metric
        effect = exp.effect(factor)
        if effect is None:
            return None
        alone = frozenset([factor])
        others_good = d.everything - alone
        if len(d.factors) == 1:
            return Context("none", d.specs[frozenset()], exp.good_value, exp.bad_value,
                           d.keys([d.everything, frozenset()]))
        if effect.damage_beyond_noise and (effect.damage or 0) > 0:
            return Context("good", d.specs[others_good], exp.good_value,
                           d.value(others_good, metric), d.keys([d.everything, others_good]))
        if effect.beyond_noise and effect.recovery > 0:
            return Context("bad", d.specs[frozenset()], d.value(alone, metric), exp.bad_value,
                           d.keys([alone, frozenset()]))
        return None


def delta_experiments(good: Manifest, bad: Manifest, diff: ManifestDiff, runner: Runner,
                      repo: str | None = None, metric: str | None = None,
                      repeats: int = 5) -> DeltaExperiments:
    """Attribute the metric change to each re-runnable factor, against the noise band."""
    return run_factorial(good, bad, diff, runner, repo, metric, repeats).result


def run_factorial(good: Manifest, bad: Manifest, diff: ManifestDiff, runner: Runner,
                  repo: str | None = None, metric: str | None = None,
                  repeats: int = 5) -> Factorial:
    """Run the noise repeats and every cell of the factorial; estimate effects and interactions."""
    s = setup(good, bad, repo, metric)
    noise = noise_band(runner, s.bad, s.metric, repeats)
    design = Design.build(changed_factors(good, bad, diff), s.bad, s.good, good)
    design.runs[frozenset()] = next(r for r in runner.records if r.key == noise.runs[0])
    design.runs[design.everything] = runner.run(s.good)
    if len(design.factors) > 1:
        noise = both_ends(noise, noise_band(runner, s.good, s.metric, repeats))
    middle = [c for c in design.specs if c not in design.runs]
    for cell, run in zip(middle, runner.run_many([design.specs[c] for c in middle]),
                         strict=True):
        design.runs[cell] = run
    bad_value = design.value(frozenset(), s.metric)
    good_value = design.value(design.everything, s.metric)
    gap = s.improvement(bad_value, good_value)
    band = noise.half_width
    recovery = {c: s.improvement(bad_value, design.value(c, s.metric)) for c in design.specs}
    effects = [_effect(f.name, f.description, design, recovery, gap, noise, s.metric)
               for f in design.factors]
    interactions = _interactions(design, recovery, noise)
    notes = []
    culprits: tuple[str, ...] = ()
    if gap <= band:
        notes.append(f"The good run's factors improve {s.metric} by {figure(gap, True)}, inside "
                     f"the noise band ±{figure(band)}: the regression is not distinguishable "
                     f"from reseeding.")
    else:
        ranked = sorted((e for e in effects if e.carries_effect),
                        key=lambda e: -(e.shapley if e.shapley is not None else e.recovery))
        culprits = tuple(e.factor for e in ranked)
        for inter in interactions:
            if inter.real:
                notes.append(f"The factors {inter.name} interact: their effects do not add "
                             f"up, so each is judged with the others at their good value as "
                             f"well as at their bad value.")
    not_rerun = tuple(f for f in diff.factors if f in ("libraries", "platform"))
    if not_rerun:
        notes.append(f"{' and '.join(not_rerun).capitalize()} differ between the runs; re-runs "
                     f"use this machine's, so their effect is not measured.")
    recorded = bad.metrics.get(s.metric)
    reproduced = None if recorded is None else abs(recorded - bad_value) <= \
        REPRODUCE_TOLERANCE * max(1.0, abs(recorded))
    if reproduced is False:
        notes.append(f"Re-running the bad run gave {s.metric} {figure(bad_value)}, not the "
                     f"recorded {figure(recorded)}: the pipeline is not fully reproducible here.")
    cells = tuple(FactorialCell(from_good=tuple(n for n in design.names if n in c),
                                metric_value=design.value(c, s.metric), recovery=recovery[c],
                                run=design.runs[c].key, label=design.runs[c].label)
                  for c in design.specs)
    result = DeltaExperiments(
        metric=s.metric, higher_is_better=s.higher_is_better, seed=bad.seed, bad_value=bad_value,
        good_value=good_value, gap=gap, noise=noise, effects=tuple(effects),
        culprit=culprits[0] if culprits else None, not_rerun=not_rerun, recorded_bad=recorded,
        reproduced=reproduced, notes=tuple(notes), factors=design.names, cells=cells,
        interactions=interactions, culprits=culprits)
    return Factorial(result, design, s)


def _effect(name: str, description: str, design: Design, recovery: dict[frozenset[str], float],
            gap: float, noise: NoiseBand, metric: str) -> FactorEffect:
    """Recovery (others bad), damage (others good) and Shapley share of one factor."""
    band = noise.half_width
    alone, everything = frozenset([name]), design.everything
    others_good = everything - alone
    rec = recovery[alone]
    damage = recovery[everything] - recovery[others_good]
    share = rec / gap if gap > band and gap > 0 else None
    k = len(design.factors)
    shapley = sum(math.factorial(len(c)) * math.factorial(k - len(c) - 1) / math.factorial(k)
                  * (recovery[c | alone] - recovery[c]) for c in design.specs if name not in c)
    beyond, damage_beyond = abs(rec) > band, abs(damage) > band
    carries = gap > band and ((beyond and rec > 0) or (damage_beyond and damage > 0))
    verdict = _verdict(rec, share, band)
    if k > 1:
        verdict += (f"; with the other factors at their good value it costs "
                    f"{figure(damage, True)}"
                    + ("" if damage_beyond else " (inside the noise band)"))
    return FactorEffect(
        factor=name, description=description, metric_value=design.value(alone, metric),
        recovery=rec, share_of_gap=share, beyond_noise=beyond, verdict=verdict,
        run=design.runs[alone], damage=damage, damage_beyond_noise=damage_beyond,
        damage_run=design.runs[others_good], shapley=shapley,
        shapley_share=shapley / gap if gap > band and gap > 0 else None, carries_effect=carries,
        rests_on=design.keys([frozenset(), alone, others_good, everything]))


def _interactions(design: Design, recovery: dict[frozenset[str], float],
                  noise: NoiseBand) -> tuple[InteractionEffect, ...]:
    """The factorial's interaction contrasts of every set of two or more factors."""
    out = []
    for cell in design.specs:
        if len(cell) < 2:
            continue
        parts = [c for c in design.specs if c <= cell]
        value = sum((-1) ** (len(cell) - len(c)) * recovery[c] for c in parts)
        band = noise.band(len(cell))
        real = abs(value) > band
        if not real:
            verdict = f"no interaction beyond noise ({figure(value, True)} vs ±{figure(band)})"
        elif value > 0:
            verdict = (f"together they cost {figure(value)} less than the sum of their "
                       f"separate costs (band ±{figure(band)}): one hides part of the other's "
                       f"effect")
        else:
            verdict = (f"together they cost {figure(-value)} more than the sum of their "
                       f"separate costs (band ±{figure(band)}): their effects compound")
        out.append(InteractionEffect(factors=tuple(n for n in design.names if n in cell),
                                     value=value, band=band, real=real, verdict=verdict,
                                     rests_on=design.keys(parts)))
    return tuple(out)


def _verdict(recovery: float, share: float | None, band: float) -> str:
    change = f"{figure(recovery, True)} vs noise ±{figure(band)}"
    if abs(recovery) <= band:
        return f"no effect beyond noise ({change})"
    if recovery < 0:
        return f"makes it worse ({change})"
    if share is not None:
        return f"restores {share:.0%} of the gap ({change})"
    return f"improves the metric ({change})"
