"""The post-mortem: figures equal the core's, journal sections, schema doc, self-contained files."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO_ROOT
from workbench.diagnose import diagnose
from workbench.exceptions import ConfigError
from workbench.report import SCHEMA, SCHEMA_VERSION, write_report
from workbench.report.followups import psi_threshold
from workbench.verify import verify_fix

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def core(written):
    """diagnose and verify run independently of the report."""
    return (diagnose(written.incident),
            verify_fix(written.incident, "recompute-ratio"))


def test_report_figures_equal_the_diagnosis_and_the_verification(written, core):
    d, v = core
    r = written.data
    assert (r["schema"], r["schema_version"]) == (SCHEMA, SCHEMA_VERSION)
    assert r["summary"]["metric"] == d.metric.to_dict()
    assert r["summary"]["onset"] == d.to_dict()["onset"]
    assert r["summary"]["change_factor"] == pytest.approx(d.metric.current / d.metric.baseline)
    assert r["summary"]["rows"] == d.rows
    assert [h["signature"] for h in r["hypotheses_ranked"]] == \
        [h.signature for h in d.hypotheses[:5]]
    assert [h["score"] for h in r["hypotheses_ranked"]] == \
        pytest.approx([h.score for h in d.hypotheses[:5]])
    verification = r["fix"]["verification"]
    expected = v.to_dict()
    for key in ("primary", "metrics", "verdict", "rows", "labelled_rows", "flips", "window",
                "baseline_window", "side_effects"):
        assert verification[key] == expected[key], key
    (drift,) = verification["drift"]
    assert drift["psi_after"] == pytest.approx(v.drift[0].psi_after, rel=1e-9)
    assert r["diagnosis"]["metric"] == d.to_dict()["metric"]
    ratio = next(x for x in d.drift if x.feature == "ratio")
    assert r["root_cause"]["feature_drift"]["psi"] == pytest.approx(ratio.psi, rel=1e-9)


def test_root_cause_timeline_and_hypotheses_come_from_the_journal(written):
    r = written.data
    cause = r["root_cause"]
    assert cause["source"] == "journal"
    assert cause["statement"].startswith("The new avg_amount definition")
    assert (cause["hypothesis"]["signature"], cause["hypothesis"]["feature"]) == \
        ("upstream_data_change", "ratio")
    assert cause["confirmed_by"]["text"] == "recomputing ratio restores the FPR"
    tested = {h["text"][:20]: h for h in r["hypotheses_tested"]}
    assert tested["The new avg_amount d"]["outcome"] == "confirmed"
    assert tested["The new avg_amount d"]["checks"][0]["status"] == "passed"
    assert tested["The v1.3.1 rollout (C"[:20]]["outcome"] == "refuted"
    kinds = [e["kind"] for e in r["timeline"]]
    for kind in ("change", "onset", "detection", "hypothesis", "check", "verdict", "fix",
                 "mitigation", "conclusion"):
        assert kind in kinds, kind
    times = [e["time"] for e in r["timeline"]]
    assert times == sorted(times)
    culprit = next(e for e in r["timeline"] if e["ref"] == "CHG-1042")
    onset = next(e for e in r["timeline"] if e["kind"] == "onset")
    assert culprit["time"] < onset["time"] == "2026-10-16T18:00:00Z"
    assert r["summary"]["status"] == "mitigated"
    assert r["summary"]["conclusion"].startswith("Upstream avg_amount redefinition")
    assert [f["verdict"] for f in r["fixes_tried"]] == ["restores"]  # the report's own replay
    assert r["fixes_tried"][0]["params"]["command"][:2] == ["workbench", "verify"]
    assert [n["text"] for n in r["notes"]] == ["warehouse team paged"]
    last = written.journal.entries()[-1]
    assert last.kind == "report" and last.result["html"] == str(written.out / "report.html")


def test_follow_ups_alert_on_the_culprit_between_its_baseline_and_incident_values(written):
    alerts = [f for f in written.data["follow_ups"] if f["statistic"] == "psi"]
    assert alerts[0]["feature"] == "ratio"
    for alert in alerts:
        assert alert["baseline_value"] < alert["threshold"] < alert["incident_value"]
    assert {a["feature"] for a in alerts} >= {"ratio", "avg_amount"}
    metric = next(f for f in written.data["follow_ups"] if f["statistic"] ==
                  "false_positive_rate" and f["kind"] == "monitor")
    assert metric["baseline_value"] < metric["threshold"] < metric["incident_value"]
    assert psi_threshold(0.001, 0.24) == 0.1
    assert 0.12 < psi_threshold(0.11, 0.2) < 0.2


def test_files_are_self_contained_and_agree(written):
    html = (written.out / "report.html").read_text()
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert "@import" not in html and "url(http" not in html
    assert set(re.findall(r"https?://[^\s\"')]+", html)) <= {
        "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # SVG namespaces only
    assert html.count("<svg") == 2 and "role-title-text" in html
    assert "<title>False positive rate per 1h</title>" in html
    md = (written.out / "report.md").read_text()
    for chart in written.data["charts"]:
        assert f"]({chart['file']})" in md
        assert (written.out / chart["file"]).read_text().startswith("<svg")
    primary = written.data["fix"]["verification"]["primary"]
    for text in (html, md):
        assert f"{primary['after']['value']:.4g}" in text
        assert "Verdict: restores" in text
        assert "Post-mortem: Fraud model false positives tripled over the weekend" in text


def test_the_schema_doc_lists_every_top_level_key(written):
    doc = (REPO_ROOT / "docs" / "report-schema.md").read_text()
    top = doc.split("## Top level", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", top, flags=re.M)
    assert documented == list(written.data)
    for section in ("summary", "root_cause", "follow_ups"):
        part = doc.split(f"## `{section}`", 1)[1].split("\n## ", 1)[0]
        keys = set(re.findall(r"`([a-z_]+)`", part))
        value = written.data[section]
        names = set(value[0] if isinstance(value, list) else value)
        assert names <= keys, (section, names - keys)


def test_a_report_is_never_written_next_to_the_data(written, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="never writes there"):
        write_report(written.incident, written.incident.base_dir / "logs" / "pm")
    assert not (written.incident.base_dir / "logs" / "pm").exists()
