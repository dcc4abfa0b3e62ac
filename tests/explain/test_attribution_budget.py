"""SHAP attribution inside `diagnose` runs under a time budget and never fails the diagnosis.

Real models on a real synthetic incident: a slow model is skipped within its budget, a tight
budget samples fewer rows, a missing, corrupt or untrusted model file gives status "failed"
naming the file (while `workbench explain` still stops with that error), and the status is part
of the `--json` document.
"""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from tests.core.conftest import Synthetic, generate
from tests.explain.incident_models import (
    ordinal_encoder,
    save_skops,
    scaled_one_hot,
    training,
    with_model,
)
from workbench.cli import main
from workbench.commands.diagnose import contract, render_text
from workbench.config import load_incident
from workbench.data import LogStore
from workbench.diagnose import diagnose
from workbench.exceptions import InvalidInputError
from workbench.explain import adapter_for, reference_background, window_sample
from workbench.explain.budget import MIN_ROWS_PER_WINDOW, Clock, explain_within
from workbench.stages.triage import run_triage

# Loose bound on overrunning a budget: the probe and the step's fixed costs (loading the model,
# sampling) come on top of the planned share.
OVERRUN_FACTOR, OVERRUN_SECONDS = 2.0, 2.0


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    """A labelled classification incident with a known upstream shift."""
    return generate(tmp_path_factory.mktemp("budget"), task="classification", rows=20_000)


@pytest.fixture(scope="module")
def hgb_config(incident: Synthetic, tmp_path_factory: pytest.TempPathFactory):
    """The incident with Pipeline(ordinal encoder -> HistGradientBoosting) saved with skops."""
    x, y = training(incident)
    pipe = Pipeline([("pre", ordinal_encoder()),
                     ("gbm", HistGradientBoostingClassifier(max_iter=50, random_state=0))])
    return with_model(incident, save_skops(pipe.fit(x, y), tmp_path_factory.mktemp("hgb")))


@pytest.fixture(scope="module")
def knn_config(incident: Synthetic, tmp_path_factory: pytest.TempPathFactory):
    """The incident with a nearest-neighbour pipeline: only the model-agnostic explainer fits."""
    x, y = training(incident)
    pipe = Pipeline([("pre", scaled_one_hot()), ("knn", KNeighborsClassifier(15))])
    return with_model(incident, save_skops(pipe.fit(x, y), tmp_path_factory.mktemp("knn")))


def _within_budget(seconds: float, budget: float) -> bool:
    return seconds <= OVERRUN_FACTOR * budget + OVERRUN_SECONDS


def test_pipeline_attribution_is_done_with_the_exact_explainer(hgb_config, incident):
    result = diagnose(hgb_config)
    status = result.attribution
    assert status.status == "done" and status.reason is None, status
    assert (status.explainer, status.output) == ("tree", "probability")
    assert status.rows == 1_000 and status.additivity_gap < 1e-6
    assert _within_budget(status.seconds, status.budget)
    assert result.top.feature == "basket_value"
    evidence = [e for h in result.hypotheses for e in h.evidence
                if e.statistic == "mean_abs_shap"]
    assert evidence and "basket_value" in evidence[0].detail

    document = contract(result)
    assert document["attribution"]["status"] == "done"
    assert set(document["attribution"]) == {"status", "reason", "rows", "seconds", "budget",
                                            "explainer", "output", "additivity_gap"}
    assert "SHAP attribution" not in render_text(result)


def test_tight_budget_explains_fewer_rows_or_skips(hgb_config):
    status = diagnose(hgb_config, attribution_budget=0.5).attribution
    assert status.status in ("done", "skipped"), status
    if status.status == "done":
        assert 2 * MIN_ROWS_PER_WINDOW <= status.rows < 1_000
        assert "sampled rows per window" in status.reason and "budget" in status.reason
    assert _within_budget(status.seconds, 0.5)


def test_rows_are_explained_in_chunks_while_the_budget_lasts(hgb_config):
    with LogStore(load_incident(hgb_config)) as store:
        adapter = adapter_for(store)
        background = reference_background(store, adapter)
        triage = run_triage(store)
        samples = [window_sample(store, adapter, w.start, w.end, 300)
                   for w in (triage.baseline, triage.current)]
    explainer = adapter.explainer(background)

    full = explain_within(explainer, adapter.predict_score, samples, background, Clock(600.0))
    assert full.reason is None and full.rows == (300, 300) and full.gap < 1e-6
    for sample, mean in zip(samples, full.means, strict=True):
        np.testing.assert_allclose(mean, np.abs(explainer.explain(sample).values).mean(axis=0),
                                   rtol=1e-9)

    tight = Clock(full.seconds_per_row * 150)  # about a quarter of what the rows need
    part = explain_within(explainer, adapter.predict_score, samples, background, tight)
    if part.reason is None:
        assert MIN_ROWS_PER_WINDOW <= part.rows[0] < 300
    assert _within_budget(tight.elapsed, tight.budget)

    none = explain_within(explainer, adapter.predict_score, samples, background, Clock(1e-3))
    assert none.rows == () and "budget" in none.reason


def test_slow_model_is_skipped_within_its_budget_and_diagnose_still_ranks(knn_config):
    result = diagnose(knn_config, attribution_budget=1.0)
    status = result.attribution
    assert status.status == "skipped", status
    assert status.explainer == "permutation" and status.rows == 0
    assert "budget" in status.reason and "ms per row" in status.reason
    assert _within_budget(status.seconds, 1.0)
    assert result.hypotheses and result.top.feature == "basket_value"
    assert f"SHAP attribution skipped: {status.reason}" in render_text(result)


@pytest.mark.parametrize("problem", ["missing", "corrupt", "untrusted"])
def test_unusable_model_file_fails_the_attribution_not_the_diagnosis(problem, incident, tmp_path,
                                                                     hgb_config, capsys):
    if problem == "missing":
        path, needle = tmp_path / "gone.skops", "does not exist"
    elif problem == "corrupt":
        path, needle = tmp_path / "broken.skops", "not a readable skops file"
        path.write_bytes(b"PK\x03\x04 truncated")
    else:
        path, needle = tmp_path / "model.joblib", "trusted = true"
        joblib.dump({"not": "a model"}, path)
    config = with_model(incident, path)

    result = diagnose(config)
    assert result.attribution.status == "failed"
    assert str(path) in result.attribution.reason and needle in result.attribution.reason
    assert result.hypotheses and result.top.feature == "basket_value"

    assert main(["diagnose", str(config), "--quiet"]) == 0
    out, _ = capsys.readouterr()
    assert "SHAP attribution failed" in out and str(path) in out
    assert main(["explain", str(config), "--quiet"]) == 2  # explaining is what was asked for
    _, err = capsys.readouterr()
    assert str(path) in err and needle in err


def test_status_without_a_model_without_an_onset_or_turned_off(incident, hgb_config,
                                                               tmp_path):
    assert diagnose(incident.config).attribution.status == "not_configured"
    assert diagnose(hgb_config, attribution=False).attribution.to_dict()["reason"] == (
        "attribution was turned off")
    quiet = generate(tmp_path / "quiet", task="classification", rows=6_000, shift_at=None)
    text = hgb_config.read_text().split("[model]")[1]
    config = quiet.config.parent / "with_model.toml"
    config.write_text(quiet.config.read_text() + "\n[model]" + text)
    result = diagnose(config)
    assert result.onset is None
    assert result.attribution.status == "skipped" and "onset" in result.attribution.reason


@pytest.mark.parametrize("budget", [0, -1, float("nan"), "10", True])
def test_a_bad_budget_is_an_input_error(budget, incident):
    with pytest.raises(InvalidInputError, match="attribution budget"):
        diagnose(incident.config, attribution_budget=budget)
