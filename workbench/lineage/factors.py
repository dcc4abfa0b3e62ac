"""The re-runnable factors two runs differ in, and runs with any subset of them swapped.

A factor is the code (commit, recorded patch and entry point), the config, or the data (one
factor per changed training-side role while at most MAX_FACTORS factors result, else one for
all roles). The evaluation set is never a factor: it is the measuring instrument. A `Design`
holds the 2^k runs of the full factorial: the bad run with every subset of the factors taken
from the good run, from the bad baseline (no factor swapped) to the good reference (all).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations

from workbench.lineage.manifest import Manifest
from workbench.lineage.results import ManifestDiff, RunRecord
from workbench.lineage.runner import RunSpec

MAX_FACTORS = 4  # 2^4 = 16 runs: the largest factorial run before bisecting
CODE, CONFIG, DATA = "code", "config", "data"


@dataclass(frozen=True)
class Factor:
    """One factor: its name, a description for messages and, for data, the roles it covers."""

    name: str
    description: str
    roles: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """code, config or data."""
        return DATA if self.roles else self.name

    def take(self, spec: RunSpec, donor: RunSpec) -> RunSpec:
        """`spec` with this factor's value taken from `donor`."""
        if self.name == CODE:
            return spec.replace(commit=donor.commit, patch=donor.patch,
                                patch_sha256=donor.patch_sha256, entry=donor.entry,
                                repo=donor.repo)
        if self.name == CONFIG:
            return spec.replace(config=dict(donor.config))
        data = dict(spec.data)
        for role in self.roles:
            if role in donor.data:
                data[role] = donor.data[role]
            else:
                data.pop(role, None)
        return spec.replace(data=data)


def changed_factors(good: Manifest, bad: Manifest, diff: ManifestDiff) -> list[Factor]:
    """The re-runnable factors that differ: data (per role when few), code, config."""
    out: list[Factor] = []
    roles = [d.role for d in diff.data if d.changed and d.role != bad.evaluation]
    others = int(diff.code_changed) + int(bool(diff.config))
    if roles:
        if len(roles) == 1 or len(roles) + others > MAX_FACTORS:
            out.append(Factor(DATA, f"{', '.join(roles)} data of {good.name}", tuple(roles)))
        else:
            out += [Factor(f"{DATA}[{r}]", f"{r} data of {good.name}", (r,)) for r in roles]
    if diff.code_changed:
        out.append(Factor(CODE, f"code of {good.name} ({(good.code.commit or '')[:8]})"))
    if diff.config:
        keys = ", ".join(c.key for c in diff.config)
        out.append(Factor(CONFIG, f"config of {good.name} ({keys})"))
    return out


def subsets(names: Iterable[str]) -> list[frozenset[str]]:
    """Every subset of the factor names, smallest first (the factorial's cells)."""
    items = list(names)
    return [frozenset(c) for k in range(len(items) + 1) for c in combinations(items, k)]


def cell_label(bad: RunSpec, taken: list[Factor], good: Manifest) -> str:
    """`bad run with code and data of v1.0` (single factors keep their historic labels)."""
    if len(taken) == 1:
        f = taken[0]
        if f.name == CODE:
            return f"{bad.label} with code of {good.name} ({(good.code.commit or '')[:8]})"
        if f.name == CONFIG:
            return f"{bad.label} with config of {good.name}"
        return f"{bad.label} with {', '.join(f.roles)} data of {good.name}"
    return f"{bad.label} with {' and '.join(f.name for f in taken)} of {good.name}"


@dataclass
class Design:
    """The factorial: factors, the spec and the run of every cell (keyed by swapped factors)."""

    factors: tuple[Factor, ...]
    specs: dict[frozenset[str], RunSpec]
    runs: dict[frozenset[str], RunRecord] = field(default_factory=dict)

    @classmethod
    def build(cls, factors: list[Factor], bad: RunSpec, good: RunSpec,
              good_manifest: Manifest) -> Design:
        """Specs of every cell: the bad spec with the cell's factors taken from the good one.

        The full cell is the good reference itself, so it shares its run.
        """
        everything = frozenset(f.name for f in factors)
        specs: dict[frozenset[str], RunSpec] = {}
        for cell in subsets(f.name for f in factors):
            if cell == everything:
                specs[cell] = good
                continue
            spec = bad
            taken = [f for f in factors if f.name in cell]
            for f in taken:
                spec = f.take(spec, good)
            specs[cell] = spec if not taken else spec.replace(
                label=cell_label(bad, taken, good_manifest))
        return cls(tuple(factors), specs)

    @property
    def names(self) -> tuple[str, ...]:
        """Factor names in order."""
        return tuple(f.name for f in self.factors)

    @property
    def everything(self) -> frozenset[str]:
        """The cell with every factor from the good run."""
        return frozenset(self.names)

    def factor(self, name: str) -> Factor:
        """The factor of that name."""
        return next(f for f in self.factors if f.name == name)

    def value(self, cell: frozenset[str], metric: str) -> float:
        """The metric of a cell's run."""
        return self.runs[cell].metrics[metric]

    def keys(self, cells: Iterable[frozenset[str]]) -> tuple[str, ...]:
        """Run keys of some cells, without repeats."""
        return tuple(dict.fromkeys(self.runs[c].key for c in cells))


@dataclass(frozen=True)
class Context:
    """Where one factor is bisected: the spec probes start from and the measured endpoints.

    base: the factor at its bad value, the other factors fixed (at their good value when that
    shows the factor's effect, else at their bad value). lo/hi: the metric with the factor at
    its good / bad value in that setting.
    """

    name: str  # good, bad or none (the other factors' value during the probes)
    base: RunSpec
    lo: float
    hi: float
    runs: tuple[str, ...]  # keys of the two endpoint runs

    @property
    def phrase(self) -> str:
        """`with the other factors at their good value`, for messages."""
        if self.name == "none":
            return "with nothing else changed"
        return f"with the other factors at their {self.name} value"
