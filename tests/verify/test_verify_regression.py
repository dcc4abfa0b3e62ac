"""A regression incident: MAE with normal-approximation intervals, a file-based correction.

The synthetic log of tests/core (a numeric feature served x1.3 from a known hour on, the
prediction a fixed formula of the served features) with a real scikit-learn model saved with
skops that reproduces the logged predictions exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from skops.io import dump

from tests.core.conftest import DRIFTED, SHIFT_FACTOR, generate
from workbench.config import load_incident
from workbench.verify import verify_fix
from workbench.verify.intervals import Z95

pytestmark = pytest.mark.slow

CORRECTION = f'''\
import pandas as pd

def unscale(rows):
    out = rows.copy()
    late = pd.to_datetime(out["ts"]) >= pd.Timestamp("{{shift}}")
    out.loc[late, "{DRIFTED}"] = out.loc[late, "{DRIFTED}"] / {SHIFT_FACTOR}
    return out
'''


@pytest.fixture(scope="module")
def regression_incident(tmp_path_factory):
    """Synthetic regression incident with [model] and a declared file-based correction."""
    synth = generate(tmp_path_factory.mktemp("regression"), task="regression")
    root = synth.config.parent
    ref = synth.reference
    x = ref[[DRIFTED, "tenure"]]
    model = LinearRegression().fit(x, 2.0 * x[DRIFTED] + 3.0 * x["tenure"])
    (root / "models").mkdir()
    dump(model, root / "models" / "linear.skops")
    (root / "fixes.py").write_text(CORRECTION.replace("{shift}", synth.shift_at.isoformat()))
    with synth.config.open("a") as f:
        f.write('\n[model]\npath = "models/linear.skops"\ntask = "regression"\n'
                '\n[[fixes]]\nname = "unscale"\nkind = "feature_correction"\n'
                'callable = "fixes.py:unscale"\n')
    return load_incident(synth.config), synth


def test_the_correction_restores_the_mae(regression_incident):
    incident, synth = regression_incident
    result = verify_fix(incident, "unscale")
    p = result.primary
    assert p.name == "mae" and p.after.method == "normal"
    assert result.verdict == "restores" and p.vs_baseline in ("overlaps", "better")
    assert p.before.value > 2 * p.baseline.value
    assert result.model_check.reproduces
    assert [m.name for m in result.metrics] == ["mae", "bias"]
    (drifted,) = result.drift
    assert drifted.feature == DRIFTED and drifted.psi_after < drifted.psi_before / 5
    # Independently, from the generated rows: MAE after the fix and mean ± z·sd/√n.
    prod = synth.production
    rows = prod[(prod["ts"] >= result.window["start"]) & (prod["ts"] < result.window["end"])]
    late = rows["ts"] >= synth.shift_at
    basket = np.where(late, rows[DRIFTED] / SHIFT_FACTOR, rows[DRIFTED])
    errors = np.abs(2.0 * basket + 3.0 * rows["tenure"] - rows["outcome"]).to_numpy()
    half = Z95 * errors.std(ddof=1) / math.sqrt(len(errors))
    assert p.after.denominator == len(errors)
    assert p.after.value == pytest.approx(errors.mean(), rel=1e-9)
    assert (p.after.lower, p.after.upper) == pytest.approx(
        (errors.mean() - half, errors.mean() + half), rel=1e-6)
    assert len(result.scores_before.counts) == 20
    assert sum(result.scores_before.counts) == result.rows
    assert np.isfinite(result.scores_after.std)
