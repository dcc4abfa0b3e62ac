"""The app's stylesheet: readable in light and dark themes (JupyterLab/Voila CSS variables)."""

CSS = """
<style>
.wb-app { font-family: var(--jp-ui-font-family, system-ui, sans-serif);
          color: var(--jp-ui-font-color1, #1a1a1a); max-width: 1100px; }
.wb-title { font-size: 1.5em; font-weight: 600; margin: 0.2em 0; }
.wb-facts { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 0.4em 0 0.8em 0; }
.wb-fact { border: 1px solid var(--jp-border-color1, #ccc); border-radius: 6px;
           padding: 0.35em 0.7em; background: var(--jp-layout-color1, transparent); }
.wb-fact b { display: block; font-size: 0.75em; font-weight: 500; opacity: 0.75;
             text-transform: uppercase; letter-spacing: 0.04em; }
.wb-bad { color: #c62828; } .wb-ok { color: #2e7d32; }
.wb-table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
.wb-table th { text-align: left; border-bottom: 2px solid var(--jp-border-color1, #ccc);
               padding: 0.3em 0.5em; }
.wb-table td { border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); padding: 0.35em 0.5em;
               vertical-align: top; }
.wb-score { display: inline-block; height: 0.7em; background: #e45756; border-radius: 2px; }
.wb-error { border-left: 4px solid #c62828; background: rgba(198, 40, 40, 0.08);
            padding: 0.6em 0.9em; margin: 0.5em 0; white-space: pre-wrap; }
.wb-busy { opacity: 0.8; font-style: italic; padding: 0.3em 0; }
</style>
"""
