"""The post-mortem's sections as a `Document`, built from its JSON form (one source of figures)."""

from __future__ import annotations

from typing import Any

from workbench.report.document import Bullets, Document, Figure, Heading, Paragraph, Table

EVIDENCE_COLUMNS = ("statistic", "window", "value", "baseline", "threshold", "detail")


def document(report: dict[str, Any], svgs: dict[str, str]) -> Document:
    """Every section of the report; svgs: chart id -> SVG text (charts listed in the report)."""
    doc = Document(f"Post-mortem: {report['incident']['title']}")
    _summary(doc, report)
    _timeline(doc, report)
    _root_cause(doc, report, svgs)
    _hypotheses(doc, report)
    _fix(doc, report)
    _follow_ups(doc, report)
    _notes(doc, report)
    _provenance(doc, report)
    return doc


def meta_line(report: dict[str, Any]) -> str:
    """Who generated the report, when, with which schema."""
    return (f"Generated {report['generated_at']} by {report['generated_by'] or 'unknown'} · "
            f"{report['schema']} v{report['schema_version']}")


def fmt(value: Any, digits: int = 4) -> str:
    """A number for reading (4 significant digits), text as is, n/a for missing values."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def when(text: str | None) -> str:
    """An ISO time to the second ('2026-10-16T18:00:00Z'), as journal times carry microseconds."""
    if not text:
        return "n/a"
    return text[:19] + "Z" if len(text) > 20 and text[10] == "T" else text


def ci(e: dict[str, Any] | None) -> str:
    """A metric estimate as 'value [lower, upper]'."""
    if not e or e.get("value") is None:
        return "n/a"
    return f"{fmt(e['value'])} [{fmt(e['lower'])}, {fmt(e['upper'])}]"


def _summary(doc: Document, r: dict[str, Any]) -> None:
    s = r["summary"]
    m = s["metric"]
    factor = f" ({s['change_factor']:.1f}×)" if s.get("change_factor") else ""
    items = [
        f"Status: {s['status']}" + (f" (fix verdict: {s['verdict']})" if s.get("verdict") else ""),
        f"Onset: {fmt(s['onset'])}",
        f"{m['name'].replace('_', ' ').capitalize()}: {fmt(m['baseline'])} before the onset, "
        f"{fmt(m['current'])} after{factor}; trend {s['trend']}",
        f"Rows analysed: {fmt(s['rows'])} ({fmt(s['window']['start'])} to "
        f"{fmt(s['window']['end'])}, bucket {s['bucket']})",
    ]
    if s.get("conclusion"):
        items.append(f"Conclusion (journal): {s['conclusion']}")
    doc.add(Heading("Summary"), Paragraph(f"Root cause: {s['root_cause']}", strong=True),
            Bullets(tuple(items)))


def _timeline(doc: Document, r: dict[str, Any]) -> None:
    rows = tuple((when(e["time"]), e["title"], e["detail"], e["source"] +
                  (f" ({e['author']})" if e.get("author") else "")) for e in r["timeline"])
    doc.add(Heading("Timeline"),
            Table(("time (UTC)", "event", "detail", "source"), rows, "timeline"))


def _root_cause(doc: Document, r: dict[str, Any], svgs: dict[str, str]) -> None:
    c = r["root_cause"]
    doc.add(Heading("Root cause"), Paragraph(c["statement"]))
    h = c.get("hypothesis")
    if h:
        target = ", ".join(f"{k} {h[k]}" for k in ("feature", "segment", "change_id",
                                                    "model_version") if h.get(k))
        source = ("confirmed in the journal" if c["source"] == "journal"
                  else "ranked first by the diagnosis")
        doc.add(Paragraph(f"Signature {h['signature']} in the {h['layer']} layer ({target}); "
                          f"score {fmt(h['score'], 3)}; {source}."))
        rows = tuple(tuple(fmt(ev.get(k)) for k in EVIDENCE_COLUMNS) for ev in h["evidence"])
        if rows:
            doc.add(Heading("Evidence", 3), Table(EVIDENCE_COLUMNS, rows, "evidence"))
    for chart in r["charts"]:
        if chart["id"] in svgs:
            doc.add(Figure(chart["id"], chart["title"], svgs[chart["id"]], chart["file"]))


def _hypotheses(doc: Document, r: dict[str, Any]) -> None:
    doc.add(Heading("Hypotheses tested"))
    tested = r["hypotheses_tested"]
    if tested:
        rows = tuple((when(h["time"]), h["author"], h["text"], h["outcome"],
                      (h["verdict"] or {}).get("text", ""),
                      "; ".join(f"{c['text']} ({c.get('status') or 'done'})" for c in h["checks"]))
                     for h in tested)
        doc.add(Table(("opened", "by", "hypothesis", "outcome", "why", "checks"), rows,
                      "hypotheses"))
    else:
        doc.add(Paragraph("No hypothesis was recorded in the journal; the suspects ranked by the "
                          "workbench follow."))
    ranked = tuple((str(h["rank"]), fmt(h["score"], 3), h["signature"], h["layer"],
                    h.get("feature") or h.get("segment") or h.get("model_version") or "",
                    h.get("change_id") or "", h["summary"]) for h in r["hypotheses_ranked"])
    doc.add(Heading("Suspects ranked by the workbench", 3),
            Table(("#", "score", "signature", "layer", "target", "change", "summary"), ranked,
                  "suspects"))


def _fix(doc: Document, r: dict[str, Any]) -> None:
    doc.add(Heading("Fix and verification"))
    fix = r.get("fix")
    if fix:
        v = fix["verification"]
        info = v["fix"]
        doc.add(Paragraph(f"Fix {info['name']!r} ({info['kind']}): {info['description']}"),
                Paragraph(f"Verdict: {v['verdict']}. {v['verdict_reason']}", strong=True),
                Paragraph(f"Replayed {fmt(v['rows'])} logged rows ({fmt(v['labelled_rows'])} "
                          f"labelled) from {fmt(v['window']['start'])} to "
                          f"{fmt(v['window']['end'])} at {fmt(v['rows_per_second'], 3)} rows/s. "
                          f"Decisions changed: {fmt(v['flips'].get('decisions_changed'))} "
                          f"({fmt(v['flips'].get('now_correct'))} now correct, "
                          f"{fmt(v['flips'].get('now_wrong'))} now wrong)."))
        rows = tuple((m["name"], ci(m["baseline"]), ci(m["before"]), ci(m["after"]),
                      m["vs_baseline"], "yes" if m["worse_beyond_ci"] else "no")
                     for m in v["metrics"])
        doc.add(Table(("metric", "baseline (target)", "incident as logged", "after the fix",
                       "vs baseline", "worse beyond CI"), rows, "fix-metrics"))
        if v["drift"]:
            rows = tuple((c["feature"], fmt(c["changed_rows"]), fmt(c["psi_before"], 3),
                          fmt(c["psi_after"], 3), fmt(c["psi_baseline"], 3))
                         for c in v["drift"])
            doc.add(Heading("Corrected features against training (PSI)", 3),
                    Table(("feature", "rows changed", "as logged", "after the fix",
                           "baseline window"), rows, "fix-drift"))
        effects = v["side_effects"]
        doc.add(Heading("Side effects", 3))
        if effects:
            doc.add(Table(("segment", "value", "metric", "baseline", "as logged", "after"),
                          tuple((s["segment"], s["value"], s["metric"], ci(s["baseline"]),
                                 ci(s["before"]), ci(s["after"])) for s in effects),
                          "side-effects"))
        else:
            doc.add(Paragraph("None: no segment got worse than both its logged and its baseline "
                              "value beyond their intervals."))
        notes = list(v["warnings"])
        if v.get("model_check"):
            notes.insert(0, v["model_check"]["detail"])
        if notes:
            doc.add(Bullets(tuple(notes)))
    else:
        doc.add(Paragraph("No fix was verified for this report (use --fix NAME)."))
    tried = r["fixes_tried"]
    if tried:
        doc.add(Heading("Fixes tried (journal)", 3),
                Table(("time", "by", "what", "verdict"),
                      tuple((when(f["time"]), f["author"], f["text"], f["verdict"] or "")
                            for f in tried), "fixes-tried"))


def _follow_ups(doc: Document, r: dict[str, Any]) -> None:
    rows = tuple((f["kind"], f["target"], f["statistic"], fmt(f["threshold"]),
                  fmt(f["baseline_value"]), fmt(f["incident_value"]), f["window"], f["rationale"])
                 for f in r["follow_ups"])
    doc.add(Heading("Follow-ups"),
            Table(("kind", "on", "statistic", "threshold", "before", "during incident",
                   "window", "why"), rows, "follow-ups"))


def _notes(doc: Document, r: dict[str, Any]) -> None:
    if r["notes"]:
        doc.add(Heading("Notes"),
                Bullets(tuple(f"{when(n['time'])} {n['author']}: {n['text']}"
                             for n in r["notes"])))


def _provenance(doc: Document, r: dict[str, Any]) -> None:
    items = [f"Incident config: {r['incident']['config']}",
             f"Journal: {r['incident']['journal']}"]
    fix = r.get("fix")
    if fix:
        v = fix["verification"]
        items.append(f"Intervals: {v['ci_method']}.")
        if v["rerun"].get("command"):
            items.append("Re-run the verification: " + " ".join(v["rerun"]["command"]))
    doc.add(Heading("How this report was made"), Bullets(tuple(items)))
