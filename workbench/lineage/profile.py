"""Data versions: content hashes and per-column summaries, computed out of core with DuckDB.

A data input is one Parquet/CSV file, a glob, or a folder of such files (`formats`). Its summary
(rows, schema, and per column: nulls, range, mean and 20-quantile edges, or the top levels with
the label's count, sum and sum of squares inside each) is stored in the run manifest, so two
runs can be compared even after their data is gone. A label is `binary` (0/1 or boolean: its
mean is a rate) or `numeric` (a price, a duration: compared by mean and spread). Queries reuse
the builders of `workbench.data.queries` over a view named `reference`, run by the query
layer's `workbench.data.snapshots.Snapshots`; only small aggregates come back to Python.
"""

from __future__ import annotations

import glob
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.data import formats, queries
from workbench.data.queries import BinSpec
from workbench.data.schema import ColumnKind, FeatureSpec, Roles, is_numeric
from workbench.data.snapshots import Snapshots
from workbench.lineage.errors import DataVersionError
from workbench.results import Serialisable

PROBS = [i / 20 for i in range(21)]
MAX_LEVELS = 30
# A categorical column whose top levels cover less than this share of rows is an identifier.
MIN_LEVEL_COVERAGE = 0.5
CATEGORICAL_TYPES = ("VARCHAR", "BOOLEAN", "ENUM")
# Relative tolerance of sum(x^2) == sum(x), which holds exactly when every x in [0, 1] is 0 or 1.
BINARY_TOLERANCE = 1e-9


@dataclass(frozen=True)
class LevelSummary(Serialisable):
    """Rows of one level of a categorical column, and label positives among them."""

    level: str
    rows: int
    label_rows: int | None = None
    label_positives: float | None = None  # sum of the label (positives of a 0/1 label)
    label_sumsq: float | None = None  # sum of the squared label (numeric labels' spread)

    @property
    def label_rate(self) -> float | None:
        """Mean label among the labelled rows of this level (the positive share for 0/1)."""
        if not self.label_rows:
            return None
        return (self.label_positives or 0.0) / self.label_rows


@dataclass(frozen=True)
class ColumnSummary(Serialisable):
    """One column of a data version."""

    name: str
    type: str
    kind: str  # numeric, categorical or other
    non_null: int
    nulls: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    quantiles: tuple[float, ...] = ()  # at 0, 0.05, ..., 1 (numeric)
    levels: tuple[LevelSummary, ...] = ()  # most frequent first (categorical)
    other_rows: int = 0  # rows in levels beyond the listed ones

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnSummary:
        """Inverse of to_dict()."""
        return cls(**{**d, "quantiles": tuple(d.get("quantiles") or ()),
                      "levels": tuple(LevelSummary(**lv) for lv in d.get("levels") or ())})


@dataclass(frozen=True)
class DataSummary(Serialisable):
    """Rows, schema and per-column summaries of a data version."""

    rows: int
    schema: dict[str, str]
    columns: tuple[ColumnSummary, ...]
    label: str | None = None
    label_rows: int | None = None
    label_positives: float | None = None  # sum of the label (positives of a 0/1 label)
    label_kind: str | None = None  # binary or numeric (None in manifests from before kinds)
    label_sumsq: float | None = None

    @property
    def label_mean(self) -> float | None:
        """Mean of the label over its non-null rows."""
        if not self.label_rows:
            return None
        return (self.label_positives or 0.0) / self.label_rows

    @property
    def label_type(self) -> str | None:
        """binary or numeric; older manifests without a kind: binary when the mean is a rate."""
        mean = self.label_mean
        if mean is None:
            return None
        return self.label_kind or ("binary" if 0.0 <= mean <= 1.0 else "numeric")

    @property
    def label_rate(self) -> float | None:
        """Share of positive labels, for a binary label (None for a numeric one)."""
        return self.label_mean if self.label_type == "binary" else None

    def column(self, name: str) -> ColumnSummary | None:
        """The summary of a column, if present."""
        return next((c for c in self.columns if c.name == name), None)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSummary:
        """Inverse of to_dict()."""
        return cls(**{**d, "schema": dict(d["schema"]),
                      "columns": tuple(ColumnSummary.from_dict(c) for c in d["columns"])})


def resolve_files(path: str | Path) -> tuple[list[Path], str]:
    """The files of a data input (file, glob or folder) and their kind: parquet or csv."""
    files, fmt, _ = formats.resolve(path)
    return files, fmt.kind


def content_hash(path: str | Path) -> str:
    """sha256 of the input's bytes; for several files, of their relative names and hashes."""
    files, _ = resolve_files(path)
    if len(files) == 1:
        return file_sha256(files[0])
    base = Path(str(path)) if Path(str(path)).is_dir() else Path(
        glob.escape(str(path))).parent
    lines = [f"{_relative(f, base)}\0{file_sha256(f)}\n" for f in files]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return path.name


def file_sha256(path: Path) -> str:
    """sha256 of one file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _kind(duck_type: str) -> str:
    if is_numeric(duck_type):
        return "numeric"
    if duck_type.upper().startswith(CATEGORICAL_TYPES):
        return "categorical"
    return "other"


def summarize(path: str | Path, label: str | None = None,
              require_label: bool = True) -> DataSummary:
    """Rows, schema and per-column summaries of a data input, in three kinds of scans.

    A label the input lacks is an error, or (require_label=False) summarised without a label.
    """
    with Snapshots() as snap:
        schema = snap.open(path)
        if label is not None and label not in schema:
            if require_label:
                raise DataVersionError(f"The label column {label!r} is not in {str(path)!r}; "
                                       f"columns: {', '.join(schema)}.")
            label = None
        return _summarize(snap, schema, label)


def _summarize(snap: Snapshots, schema: dict[str, str], label: str | None) -> DataSummary:
    kinds = {name: _kind(t) for name, t in schema.items()}
    specs = {name: FeatureSpec(name, ColumnKind.NUMERIC if k == "numeric" else
                               ColumnKind.CATEGORICAL, t, t)
             for name, t in schema.items() if (k := kinds[name]) != "other"}
    numeric = [s for s in specs.values() if s.kind is ColumnKind.NUMERIC]
    quant = snap.run(queries.reference_quantiles(numeric, PROBS)).iloc[0] if numeric else None
    levels = {s.name: [str(v) for v in snap.run(queries.top_levels(s, MAX_LEVELS))["level"]]
              for s in specs.values() if s.kind is ColumnKind.CATEGORICAL}
    boolean_label = label is not None and schema[label].upper() == "BOOLEAN"
    label_numeric = label is not None and (is_numeric(schema[label]) or boolean_label)
    bins = [BinSpec(s, levels=tuple(levels.get(s.name, ()))) for s in specs.values()]
    roles = Roles(timestamp="", prediction=label if label_numeric else "", task="classification",
                  decision=None, label=None, model_version=None, id=None, latency=None,
                  status=None, segments=(), features=tuple(specs.values()), reference_label=label)
    counts = snap.run(queries.binned_counts(roles, bins, "reference", [("all", None, None)],
                                             with_score=label_numeric))
    totals = counts[counts["feature"] == -1].iloc[0]
    rows = int(totals["n"])
    columns = []
    for i, spec in enumerate(bins):
        name = spec.feature.name
        part = counts[counts["feature"] == i]
        by_bin = {int(r["bin"]): r for _, r in part.iterrows()}
        nulls = int(by_bin[0]["n"]) if 0 in by_bin else 0
        if spec.feature.kind is ColumnKind.NUMERIC:
            j = numeric.index(spec.feature)
            n = int(quant[f"n{j}"])
            qs = quant[f"q{j}"]
            total = float(part["value_sum"].fillna(0).sum())
            columns.append(ColumnSummary(
                name=name, type=schema[name], kind="numeric", non_null=n, nulls=nulls,
                min=_num(quant[f"lo{j}"]), max=_num(quant[f"hi{j}"]),
                mean=total / n if n else None,
                quantiles=tuple(float(v) for v in qs) if qs is not None and n else ()))
        else:
            lv = []
            for k, level in enumerate(spec.levels):
                r = by_bin.get(k + 2)
                if r is None:
                    continue
                lv.append(LevelSummary(
                    level=level, rows=int(r["n"]),
                    label_rows=int(r["n_score"]) if label_numeric else None,
                    label_positives=_num(r["score_sum"]) if label_numeric else None,
                    label_sumsq=_num(r["score_sumsq"]) if label_numeric else None))
            other = int(by_bin[1]["n"]) if 1 in by_bin else 0
            if sum(x.rows for x in lv) < MIN_LEVEL_COVERAGE * (rows - nulls):
                lv, other = [], rows - nulls  # an identifier: its values are not worth listing
            columns.append(ColumnSummary(name=name, type=schema[name], kind="categorical",
                                         non_null=rows - nulls, nulls=nulls, levels=tuple(lv),
                                         other_rows=other))
    for name, kind in kinds.items():
        if kind == "other":
            columns.append(ColumnSummary(name=name, type=schema[name], kind="other",
                                         non_null=-1, nulls=-1))
    order = list(schema)
    columns.sort(key=lambda c: order.index(c.name))
    if not label_numeric:
        return DataSummary(rows=rows, schema=schema, columns=tuple(columns), label=label)
    n, total, sumsq = int(totals["n_score"]), _num(totals["score_sum"]), _num(totals["score_sumsq"])
    column = next(c for c in columns if c.name == label)
    return DataSummary(
        rows=rows, schema=schema, columns=tuple(columns), label=label, label_rows=n,
        label_positives=total, label_sumsq=sumsq,
        label_kind="binary" if boolean_label or _binary(column, n, total, sumsq) else "numeric")


def _binary(column: ColumnSummary, n: int, total: float | None, sumsq: float | None) -> bool:
    """Whether a numeric label only holds 0 and 1 (then sum(x^2) equals sum(x))."""
    if n == 0 or total is None or sumsq is None or column.min is None or column.max is None:
        return n == 0
    if column.min < 0.0 or column.max > 1.0:
        return False
    return abs(sumsq - total) <= BINARY_TOLERANCE * max(1.0, abs(total))


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def bin_specs(columns: list[ColumnSummary]) -> list[BinSpec]:
    """Bins of the good version: its unique 20-quantile edges, or its listed levels."""
    out = []
    for col in columns:
        kind = ColumnKind.NUMERIC if col.kind == "numeric" else ColumnKind.CATEGORICAL
        feature = FeatureSpec(col.name, kind, col.type, col.type)
        if kind is ColumnKind.NUMERIC:
            edges = tuple(sorted({float(v) for v in col.quantiles}))
            out.append(BinSpec(feature, edges=edges))
        else:
            out.append(BinSpec(feature, levels=tuple(lv.level for lv in col.levels)))
    return out


def binned(path: str | Path, specs: list[BinSpec]) -> list[list[float]]:
    """Exact row counts per bin id (see workbench.data.queries) of each spec, in one scan."""
    if not specs:
        return []
    with Snapshots() as snap:
        schema = snap.open(path)
        present = [s for s in specs if s.feature.name in schema]
        if len(present) != len(specs):
            missing = [s.feature.name for s in specs if s.feature.name not in schema]
            raise DataVersionError(f"{str(path)!r} lacks the columns {missing}.")
        roles = Roles(timestamp="", prediction="", task="classification", decision=None,
                      label=None, model_version=None, id=None, latency=None, status=None,
                      segments=(), features=tuple(s.feature for s in specs),
                      reference_label=None)
        df = snap.run(queries.binned_counts(roles, specs, "reference", [("all", None, None)],
                                            with_score=False))
    out = []
    for i, spec in enumerate(specs):
        counts = [0.0] * spec.n_bins
        for _, row in df[df["feature"] == i].iterrows():
            counts[int(row["bin"])] = float(row["n"])
        out.append(counts)
    return out
