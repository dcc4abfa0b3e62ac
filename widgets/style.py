"""The app's stylesheet: readable in light and dark themes (JupyterLab/Voila CSS variables).

Chart text and axes take the theme's font and border colours, so Vega's SVG charts stay legible
on a dark background (`voila --theme=dark`, or `?theme=dark` in a link).
"""

CSS = """
<style>
.wb-app { font-family: var(--jp-ui-font-family, system-ui, sans-serif);
          color: var(--jp-ui-font-color1, #1a1a1a); max-width: 1180px; }
.wb-title { font-size: 1.5em; font-weight: 600; margin: 0.2em 0; }
.wb-section { margin: 1.1em 0 0.1em 0; font-size: 1.1em; }
.wb-hint { opacity: 0.8; font-size: 0.9em; margin: 0.1em 0 0.4em 0; }
.wb-facts { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 0.4em 0 0.8em 0; }
.wb-fact { border: 1px solid var(--jp-border-color1, #ccc); border-radius: 6px;
           padding: 0.35em 0.7em; background: var(--jp-layout-color1, transparent); }
.wb-fact b { display: block; font-size: 0.75em; font-weight: 500; opacity: 0.75;
             text-transform: uppercase; letter-spacing: 0.04em; }
.wb-who { font-weight: 600; margin-top: 0.3em; }
.wb-bad { color: var(--jp-error-color1, #c62828); }
.wb-ok { color: var(--jp-success-color1, #2e7d32); }
.wb-table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
.wb-table th { text-align: left; border-bottom: 2px solid var(--jp-border-color1, #ccc);
               padding: 0.3em 0.5em; }
.wb-table td { border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); padding: 0.3em 0.5em;
               vertical-align: top; }
.wb-table tr.wb-picked td, .wb-table tr.wb-near td {
  background: var(--jp-layout-color2, rgba(228, 87, 86, 0.08)); }
.wb-table tr.wb-picked td:first-child { border-left: 4px solid #e45756; }
.wb-score { display: inline-block; height: 0.7em; background: #e45756; border-radius: 2px; }
.wb-kind { font-size: 0.8em; border: 1px solid var(--jp-border-color1, #ccc);
           border-radius: 4px; padding: 0 0.3em; }
.wb-error { border-left: 4px solid var(--jp-error-color1, #c62828);
            background: rgba(198, 40, 40, 0.08); padding: 0.6em 0.9em; margin: 0.5em 0;
            white-space: pre-wrap; }
.wb-busy { position: fixed; top: 10px; right: 14px; z-index: 1000; padding: 0.45em 0.9em;
           border-radius: 6px; background: var(--jp-layout-color2, #fff8e1);
           border: 1px solid var(--jp-warn-color1, #f9a825); font-style: italic;
           box-shadow: 0 2px 8px rgba(0, 0, 0, 0.2); }
.wb-spinner { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.5em;
              border: 2px solid var(--jp-warn-color1, #f9a825); border-right-color: transparent;
              border-radius: 50%; animation: wb-spin 0.8s linear infinite;
              vertical-align: -0.1em; }
@keyframes wb-spin { to { transform: rotate(360deg); } }
.wb-window { gap: 0.5em; padding: 0.4em 0; border-top: 1px solid var(--jp-border-color2, #ddd);
             border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.wb-runbook { border-left: 4px solid #4c78a8; padding: 0.5em 0.9em; margin: 0.6em 0;
              background: var(--jp-layout-color2, rgba(76, 120, 168, 0.06)); }
.wb-runbook ol { margin: 0.3em 0 0.3em 1.2em; padding: 0; }
.wb-layer { border: 1px solid var(--jp-border-color2, #ddd); border-left-width: 6px;
            border-radius: 4px; margin: 0.25em 0; padding: 0.2em 0.4em; }
.wb-verdict-healthy { border-left-color: #2e7d32; }
.wb-verdict-suspect { border-left-color: #ef6c00; }
.wb-verdict-failing { border-left-color: #c62828; }
.wb-verdict-unknown { border-left-color: #9e9e9e; }
.wb-badge { display: inline-block; min-width: 5.5em; font-weight: 600; }
.wb-badge.wb-healthy { color: #2e7d32; } .wb-badge.wb-suspect { color: #ef6c00; }
.wb-badge.wb-failing { color: #c62828; } .wb-badge.wb-unknown { color: #9e9e9e; }
.wb-layer-details { padding: 0.3em 0 0.5em 0.5em; }
.wb-sev-major { color: #c62828; font-weight: 600; } .wb-sev-moderate { color: #ef6c00; }
.wb-records select, .wb-records-head {
  font-family: var(--jp-code-font-family, monospace); font-size: 0.85em; }
.wb-records-head { margin: 0.2em 0 0 0; padding: 0 0 0 4px; white-space: pre; }
.wb-whatif { padding: 0.4em 0; }
.wb-chart { margin: 0.3em 0.6em 0.3em 0; }
.wb-app .vega-embed svg .role-title-text text, .wb-app .vega-embed svg .role-axis-label text,
.wb-app .vega-embed svg .role-axis-title text, .wb-app .vega-embed svg .role-legend-label text,
.wb-app .vega-embed svg .role-legend-title text {
  fill: var(--jp-ui-font-color1, #1a1a1a); }
.wb-app .vega-embed svg .role-axis-domain line, .wb-app .vega-embed svg .role-axis-tick line {
  stroke: var(--jp-ui-font-color2, #888); }
.wb-app .vega-embed svg .role-axis-grid line { stroke: var(--jp-border-color2, #e0e0e0); }
.wb-app .vega-embed svg.marks { background-color: transparent !important; }
</style>
"""
