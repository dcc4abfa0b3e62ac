"""Replaying the sample incident's window through its declared fixes: verdicts and figures."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from sample_data.fraud_fixes import recompute_ratio
from workbench.stages.features import analyse_features
from workbench.verify import CandidateFix, verify_fix, wilson
from workbench.verify.intervals import Z95
from workbench.verify.tally import bin_ids

pytestmark = pytest.mark.slow


def test_the_ratio_correction_restores_the_fpr_within_the_baseline_interval(ratio_fix):
    p = ratio_fix.primary
    assert ratio_fix.metric == p.name == "false_positive_rate"
    assert ratio_fix.verdict == "restores" and ratio_fix.restores
    assert p.vs_baseline == "overlaps"
    assert p.after.lower <= p.baseline.upper and p.baseline.lower <= p.after.upper
    assert p.before.lower > p.baseline.upper  # the incident as logged was far outside
    assert p.after.value < p.before.value / 2
    assert not ratio_fix.side_effects
    assert not ratio_fix.warnings
    assert "overlapping the baseline" in ratio_fix.verdict_reason


def test_the_decoy_rollback_does_not_restore(rollback_fix):
    p = rollback_fix.primary
    assert rollback_fix.verdict == "insufficient" and not rollback_fix.restores
    assert p.vs_baseline == "worse"
    assert p.after.lower > p.baseline.upper
    assert p.after.value == pytest.approx(p.before.value, rel=0.1)  # about as bad as before
    assert rollback_fix.model_check.reproduces and rollback_fix.model_check.version == "v1.3.0"


def test_figures_as_logged_equal_the_triage_on_the_same_rows(ratio_fix, rollback_fix, triage):
    for result in (ratio_fix, rollback_fix):
        assert result.primary.before.value == pytest.approx(triage.metric.current, rel=1e-12)
        assert result.primary.baseline.value == pytest.approx(triage.metric.baseline, rel=1e-12)
        assert result.window == {"start": triage.current.start, "end": triage.current.end}
        assert result.baseline_window == {"start": triage.baseline.start,
                                          "end": triage.baseline.end}
    current = triage.counts[triage.counts["bucket"] >= pd.Timestamp(triage.current.start)]
    assert ratio_fix.rows == int(current["n"].sum())
    assert ratio_fix.labelled_rows == int(current["n_labeled"].sum())
    assert ratio_fix.primary.before.numerator == float(current["fp"].sum())
    assert ratio_fix.primary.before.denominator == float((current["fp"] + current["tn"]).sum())


def test_intervals_are_wilson_intervals_recomputable_from_the_counts(ratio_fix):
    for m in ratio_fix.metrics:
        for e in (m.baseline, m.before, m.after):
            assert e.method == "wilson"
            assert (e.lower, e.upper) == wilson(e.numerator, e.denominator)
            # Independent check: the Wilson bounds solve |p_hat - p| = z sqrt(p (1 - p) / n).
            n, p_hat = e.denominator, e.numerator / e.denominator

            def gap(p, n=n, p_hat=p_hat):
                return abs(p_hat - p) - Z95 * np.sqrt(p * (1 - p) / n)

            assert optimize.brentq(gap, 1e-12, p_hat) == pytest.approx(e.lower, rel=1e-6)
            assert optimize.brentq(gap, p_hat, 1 - 1e-12) == pytest.approx(e.upper, rel=1e-6)


def test_the_corrected_feature_drifts_back_to_its_baseline_level(ratio_fix, store, triage):
    (ratio,) = ratio_fix.drift
    assert ratio.feature == "ratio" and ratio.changed_rows == ratio_fix.rows
    report = analyse_features(store, triage.baseline, triage.current, triage.bucket_seconds)
    served = next(d for d in report.drift if d.feature == "ratio")
    # Bins counted in Python during the replay equal DuckDB's on the same rows.
    assert ratio.psi_before == pytest.approx(served.psi, rel=1e-9)
    assert ratio.psi_baseline == pytest.approx(served.psi_baseline, rel=1e-9)
    assert ratio.psi_before > 0.2 and ratio.severity_before in ("moderate", "major")
    assert ratio.psi_after < 0.01 and ratio.severity_after == "stable"
    assert ratio.psi_after < 3 * ratio.psi_baseline + 0.002


def test_python_bins_match_the_sql_bins_for_every_feature(store, triage):
    specs = store.bin_specs()
    sql = store.binned_counts(specs, [triage.current])
    counts = [np.zeros(s.n_bins) for s in specs]
    for batch in store.replay_batches(triage.current.start, triage.current.end, 7_000):
        for k, spec in enumerate(specs):
            counts[k] += np.bincount(bin_ids(spec, batch[spec.feature.name]),
                                     minlength=spec.n_bins)
    for k, spec in enumerate(specs):
        rows = sql[(sql["w"] == "current") & (sql["feature"] == k)]
        expected = np.zeros(spec.n_bins)
        expected[rows["bin"].astype(int).to_numpy()] = rows["n"].to_numpy()
        np.testing.assert_array_equal(counts[k], expected, err_msg=spec.feature.name)


def test_small_batches_give_the_same_result(replayer, ratio_fix):
    messages: list[str] = []
    small = replayer.run("recompute-ratio", progress=messages.append, batch_rows=4_096)
    assert small.primary == ratio_fix.primary
    assert small.flips == ratio_fix.flips
    assert [s.after for s in small.segments] == [s.after for s in ratio_fix.segments]
    replayed = [m for m in messages if m.startswith("replayed ")]
    assert len(replayed) >= ratio_fix.rows // 4_096
    assert replayed[-1].startswith(f"replayed {ratio_fix.rows:,}/{ratio_fix.rows:,}")


def test_segments_cover_every_row_and_their_baselines_match_the_sql(ratio_fix, store, triage):
    by_column: dict[str, int] = {}
    for s in ratio_fix.segments:
        if s.metric == "false_positive_rate":
            by_column[s.segment] = by_column.get(s.segment, 0) + s.rows
    assert by_column == {c: ratio_fix.rows for c in ("country", "channel", "merchant_category")}
    df = store.segment_counts(["channel"], [triage.baseline])
    online = df[df["s0"] == "online"].iloc[0]
    effect = next(s for s in ratio_fix.segments if (s.segment, s.value, s.metric) ==
                  ("channel", "online", "false_positive_rate"))
    assert effect.baseline.numerator == online["fp"]
    assert effect.baseline.denominator == online["fp"] + online["tn"]
    assert {s.metric for s in ratio_fix.segments} == {"false_positive_rate",
                                                     "false_negative_rate"}


def test_a_fix_that_breaks_one_segment_is_reported_as_a_side_effect(replayer):
    def ratio_but_breaks_germany(rows: pd.DataFrame) -> pd.DataFrame:
        out = recompute_ratio(rows)
        germany = out["country"] == "DE"
        out.loc[germany, "ratio"] = out.loc[germany, "ratio"] * 4.0
        return out

    result = replayer.run(CandidateFix.feature_correction("ratio-but-DE", ratio_but_breaks_germany))
    flagged = {(s.segment, s.value, s.metric) for s in result.side_effects}
    assert ("country", "DE", "false_positive_rate") in flagged
    assert not any(seg == "country" and value != "DE" for seg, value, _ in flagged)
    de = next(s for s in result.side_effects if (s.segment, s.value) == ("country", "DE"))
    assert de.after.lower > max(de.before.upper, de.baseline.upper)
    assert result.rerun["parameters"]["callable"].endswith("ratio_but_breaks_germany")
    assert "command" not in result.rerun  # a fix built in code has no CLI form


def test_a_threshold_fix_trades_recall_and_says_so(replayer):
    result = replayer.run(CandidateFix.new_threshold("threshold-0.9", 0.9))
    assert result.verdict == "restores" and result.primary.vs_baseline == "better"
    fnr = result.metric_comparison("false_negative_rate")
    assert fnr.worse_beyond_ci and fnr.after.lower > fnr.baseline.upper
    assert any("false_negative_rate" in w for w in result.warnings)
    assert result.drift == () and result.model_check is None
    # Same scores, fewer positive decisions.
    assert result.scores_after.counts == result.scores_before.counts
    assert result.scores_after.mean == pytest.approx(result.scores_before.mean, rel=1e-12)
    assert result.scores_after.positive_rate < result.scores_before.positive_rate / 2


def test_a_window_without_labels_is_insufficient_and_recorded_as_given(replayer, sample):
    start = datetime.fromisoformat(sample.truth["labels_until"].rstrip("Z"))
    result = replayer.run("recompute-ratio", start, start + timedelta(hours=12))
    assert result.window_given and result.rows > 0 and result.labelled_rows == 0
    assert result.verdict == "insufficient"
    assert "no labelled rows" in result.verdict_reason
    assert result.rerun["window"] == "2026-10-19T00:00:00Z..2026-10-19T12:00:00Z"
    assert result.rerun["command"][-2:] == ["--window", result.rerun["window"]]


def test_a_model_file_that_is_not_the_version_says_it_does_not_reproduce(replayer, sample):
    wrong = sample.config.parent / "models" / "fraud_v1_3_1.skops"
    result = replayer.run(CandidateFix.rollback("fake-rollback", "v1.3.0", wrong))
    check = result.model_check
    assert not check.reproduces and check.max_abs_diff > 1e-3 and check.rows > 100
    assert any("does NOT reproduce" in w for w in result.warnings)


def test_verify_fix_end_to_end_diagnoses_once_then_takes_the_cached_diagnosis(
        sample, ratio_fix, diagnosis, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))  # an empty diagnosis cache
    messages: list[str] = []
    result = verify_fix(sample.config, "recompute-ratio", progress=messages.append)
    assert result.primary == ratio_fix.primary
    assert messages[0].startswith("triage")  # nothing cached yet: the one diagnosis
    messages.clear()
    again = verify_fix(sample.config, "recompute-ratio", progress=messages.append)
    assert messages[0].startswith("diagnosis loaded from the cache")
    assert not [m for m in messages if m.startswith("triage")]
    assert again.primary == result.primary
    assert result.primary.baseline.value == pytest.approx(diagnosis.metric.baseline, rel=1e-12)
    assert result.baseline_window["end"] == diagnosis.current_window.start


def test_the_sample_correction_only_touches_rows_from_the_onset(sample):
    onset = pd.Timestamp(sample.truth["onset"])
    rows = pd.DataFrame({
        "event_time": [onset - pd.Timedelta(minutes=1), onset, onset + pd.Timedelta(hours=1)],
        "amount": [70.0, 70.0, 35.0], "avg_amount": [100.0, 70.0, 35.0],
        "ratio": [0.7, 1.0, 1.0]})
    out = recompute_ratio(rows)
    assert out["ratio"].tolist() == pytest.approx([0.7, 0.7, 0.7])
    assert out["avg_amount"].tolist() == rows["avg_amount"].tolist()
    naive = rows.assign(event_time=rows["event_time"].dt.tz_convert(None))
    assert recompute_ratio(naive)["ratio"].tolist() == pytest.approx([0.7, 0.7, 0.7])


def test_baseline_window_rows_are_left_alone_by_the_correction(replayer, triage):
    end = triage.baseline.end
    result = replayer.run("recompute-ratio", end - timedelta(hours=6), end)
    assert result.flips["decisions_changed"] == 0
    assert result.drift == ()  # no feature changed
    assert result.primary.after == result.primary.before
