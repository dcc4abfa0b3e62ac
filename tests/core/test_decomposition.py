"""The metric decomposition against known truth: covariate shift, relation change, both."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.core.conftest import LOG_START, write_table
from workbench.cli import main
from workbench.stats import decompose

LEVELS = 6


def _cells(rng: np.random.Generator, shares_base: np.ndarray, shares_cur: np.ndarray,
           rate_base: np.ndarray, rate_cur: np.ndarray, n: int = 40_000) -> pd.DataFrame:
    """Negatives per cell and false positives among them, for both windows (sampled)."""
    rows = []
    for window, shares, rate in (("baseline", shares_base, rate_base),
                                 ("current", shares_cur, rate_cur)):
        den = rng.multinomial(n, shares).astype(float)
        num = rng.binomial(den.astype(int), rate).astype(float)
        rows += [{"w": window, "c0": b, "_num": num[b], "_den": den[b]} for b in range(LEVELS)]
    return pd.DataFrame(rows)


def _covariate_share(cells: pd.DataFrame, seed: int = 0) -> tuple[float, tuple | None]:
    coalitions = decompose.Coalitions(cells, ["c0"])
    num, den = cells["_num"].to_numpy(float), cells["_den"].to_numpy(float)
    split, _ = coalitions.shapley(num, den)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(decompose.BOOTSTRAP_DRAWS):
        s, _ = coalitions.shapley(*decompose.resample(num, den, rng, rate=True))
        draws.append(s.covariate / s.gap)
    return split.covariate / split.gap, decompose.percentile_interval(draws)


BASE_SHARES = np.array([0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
RATES = np.array([0.002, 0.005, 0.01, 0.03, 0.08, 0.2])


def test_the_two_parts_add_up_to_the_gap_exactly():
    rng = np.random.default_rng(1)
    a_b, d_b = rng.integers(0, 50, 8).astype(float), rng.integers(50, 500, 8).astype(float)
    a_c, d_c = rng.integers(0, 50, 8).astype(float), rng.integers(50, 500, 8).astype(float)
    a_c[2] = d_c[2] = 0.0  # a cell seen in one window only
    split = decompose.two_factor(a_b, d_b, a_c, d_c)
    assert split.covariate + split.relation == pytest.approx(split.gap, abs=1e-12)
    raw = decompose.two_factor(a_b, d_b, a_c, d_c, prior=0.0)
    q_b, q_c = d_b / d_b.sum(), d_c / d_c.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        r_b, r_c = a_b / d_b, a_c / d_c
    both = (d_b > 0) & (d_c > 0)
    assert raw.relation == pytest.approx(np.sum(((q_b + q_c) / 2 * (r_c - r_b))[both]))
    assert split.gap == pytest.approx(a_c.sum() / d_c.sum() - a_b.sum() / d_b.sum())


def test_a_pure_covariate_shift_is_explained_by_the_inputs():
    rng = np.random.default_rng(2)
    shifted = np.array([0.1, 0.15, 0.2, 0.2, 0.2, 0.15])
    share, _ = _covariate_share(_cells(rng, BASE_SHARES, shifted, RATES, RATES))
    assert share >= 0.8


def test_a_cell_seen_once_before_cannot_pass_its_noise_off_as_a_relation_change():
    """A unit change moves every current row into the above-range bin, which held one baseline
    row: the whole change is the shift."""
    a_b = np.array([30.0, 40.0, 0.0])
    d_b = np.array([1000.0, 1000.0, 1.0])
    a_c = np.array([0.0, 0.0, 150.0])
    d_c = np.array([0.0, 0.0, 2000.0])
    split = decompose.two_factor(a_b, d_b, a_c, d_c)
    assert split.covariate / split.gap >= 0.95


def test_a_pure_relation_change_is_left_as_residual():
    rng = np.random.default_rng(3)
    share, _ = _covariate_share(_cells(rng, BASE_SHARES, BASE_SHARES, RATES, RATES * 2.5))
    assert 1 - share >= 0.8


def test_the_95_percent_interval_covers_the_truth_in_nine_seeds_of_ten():
    """Half the change from the shift, half from the relation: the truth is computed on the
    population (no sampling), the estimate and its interval on samples."""
    shifted = np.array([0.1, 0.15, 0.2, 0.2, 0.2, 0.15])
    rates_cur = RATES * 1.4
    truth = decompose.two_factor(RATES * BASE_SHARES, BASE_SHARES, rates_cur * shifted, shifted,
                                 prior=0.0)
    true_share = truth.covariate / truth.gap
    covered = 0
    seeds = range(100)
    for seed in seeds:
        rng = np.random.default_rng(1000 + seed)
        _, interval = _covariate_share(_cells(rng, BASE_SHARES, shifted, RATES, rates_cur),
                                       seed=seed)
        assert interval is not None
        covered += interval[0] <= true_share <= interval[1]
    assert covered / len(seeds) >= 0.9


def test_shapley_shares_add_up_to_the_joint_covariate_part():
    rng = np.random.default_rng(4)
    rows = []
    for window, shift in (("baseline", 0.0), ("current", 0.8)):
        x1 = rng.normal(shift, 1.0, 30_000)
        x2 = rng.normal(0.5 * shift, 1.0, 30_000)
        fp = rng.random(30_000) < 1 / (1 + np.exp(-(x1 + x2 - 3)))
        frame = pd.DataFrame({"w": window, "c0": np.digitize(x1, [-1, 0, 1, 2]),
                              "c1": np.digitize(x2, [-1, 0, 1, 2]), "_num": fp.astype(float),
                              "_den": 1.0})
        rows.append(frame.groupby(["w", "c0", "c1"], as_index=False)[["_num", "_den"]].sum())
    cells = pd.concat(rows, ignore_index=True)
    coalitions = decompose.Coalitions(cells, ["c0", "c1"])
    split, phi = coalitions.shapley(cells["_num"].to_numpy(float),
                                    cells["_den"].to_numpy(float))
    assert sum(phi.values()) == pytest.approx(split.covariate, abs=1e-12)
    assert phi["c0"] > phi["c1"] > 0
    assert split.covariate / split.gap >= 0.8


# ---- end to end: the unit change that concept drift used to outrank -----------------------

def test_a_unit_change_upstream_outranks_concept_drift(tmp_path, capsys):
    """A feature divided by 1000 twenty minutes after an upstream change: the feature leads,
    its explained share is reported, and concept drift does not lead."""
    rng = np.random.default_rng(7)
    n = 24_000
    seconds = np.sort(rng.integers(0, 6 * 86_400, n))
    ts = pd.Timestamp(LOG_START) + pd.to_timedelta(seconds, unit="s")
    onset = pd.Timestamp(LOG_START) + pd.Timedelta(days=4, hours=10)
    weight_g = rng.gamma(4.0, 500.0, n)
    temp = rng.normal(20.0, 5.0, n)
    risk = 1 / (1 + np.exp(-(weight_g / 1000 - 2.5 + 0.05 * (temp - 20))))
    label = (rng.random(n) < risk).astype(int)
    served = np.where(ts >= onset, weight_g / 1000, weight_g)  # grams -> kilograms upstream
    score = 1 / (1 + np.exp(-(served / 1000 - 2.5 + 0.05 * (temp - 20))))
    log = pd.DataFrame({"event_time": ts.astype("datetime64[us]"), "parcel_weight": served,
                        "temperature": temp, "p_damage": score, "damaged": label})
    write_table(tmp_path / "log.parquet", log)
    ref_w = rng.gamma(4.0, 500.0, 20_000)
    write_table(tmp_path / "train.parquet", pd.DataFrame({
        "parcel_weight": ref_w, "temperature": rng.normal(20.0, 5.0, 20_000)}))
    pd.DataFrame({"time": [(onset - pd.Timedelta(minutes=20)).isoformat() + "Z"],
                  "id": ["UP-88"], "kind": ["upstream"],
                  "description": ["Scale vendor feed v3"]}).to_csv(tmp_path / "changes.csv",
                                                                  index=False)
    (tmp_path / "incident.toml").write_text(
        'title = "parcel damage"\nbucket = "1h"\nmetric = "false_negative_rate"\n'
        '[production]\nsource = "log.parquet"\ntimestamp = "event_time"\n'
        'prediction = "p_damage"\nlabel = "damaged"\n[reference]\nsource = "train.parquet"\n'
        '[changes]\nsource = "changes.csv"\n')
    assert main(["diagnose", str(tmp_path / "incident.toml"), "--json"]) == 0

    result = json.loads(capsys.readouterr().out)
    top = result["hypotheses"][0]
    assert (top["signature"], top["feature"]) == ("upstream_data_change", "parcel_weight")
    assert top["explained"]["share"] >= 0.8
    assert result["decomposition"]["covariate"] >= 0.8
    concept = next(h for h in result["hypotheses"] if h["signature"] == "concept_drift")
    assert concept["rank"] > 1 and concept["score"] < 0.2
    assert "stayed close" not in concept["summary"]


def test_a_wide_log_decomposes_its_shifted_features_from_a_second_narrow_scan(tmp_path,
                                                                              capsys):
    """Forty features (more than one scan's group): the shifted one still gets its share."""
    from tests.core.conftest import generate

    base = generate(tmp_path / "base", task="classification", rows=12_000, days=6,
                    shift_at=LOG_START + pd.Timedelta(days=4, hours=10))
    rng = np.random.default_rng(0)
    prod = base.production.assign(**{f"extra_{i}": rng.normal(size=len(base.production))
                                     for i in range(40)})
    ref = base.reference.assign(**{f"extra_{i}": rng.normal(size=len(base.reference))
                                   for i in range(40)})
    write_table(tmp_path / "logs" / "part-0.parquet", prod)
    write_table(tmp_path / "training.parquet", ref)
    text = base.config.read_text().replace(
        'source = "changes.csv"', f'source = {json.dumps(str(base.config.parent / "changes.csv"))}')
    (tmp_path / "incident.toml").write_text(text)
    assert main(["diagnose", str(tmp_path / "incident.toml"), "--json", "--no-cache"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hypotheses"][0]["feature"] == "basket_value"
    dec = result["decomposition"]
    assert dec["by_feature"]["basket_value"] >= 0.5
    assert "extra_7" not in dec["by_feature"]  # never read with outcomes: no share claimed
