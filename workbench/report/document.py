"""A tiny document model rendered twice: as Markdown and as self-contained HTML.

The report's sections are built once as blocks (headings, paragraphs, lists, tables, figures);
both renderers escape every text, so journal notes cannot inject markup into the HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    """A section heading (level 1-3)."""

    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text; `strong` renders it emphasised."""

    text: str
    strong: bool = False


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table with a header row."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    css_class: str = ""


@dataclass(frozen=True)
class Figure:
    """A chart: inline SVG in HTML, an image link to its SVG file in Markdown."""

    id: str
    title: str
    svg: str
    file: str


@dataclass
class Document:
    """Blocks in reading order."""

    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks: object) -> None:
        """Append blocks."""
        self.blocks.extend(blocks)


def to_markdown(doc: Document) -> str:
    """GitHub-flavoured Markdown."""
    out = [f"# {doc.title}", ""]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += [f"{'#' * (b.level)} {b.text}", ""]
        elif isinstance(b, Paragraph):
            out += [f"**{b.text}**" if b.strong else b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            out.append("| " + " | ".join(_cell(h) for h in b.headers) + " |")
            out.append("|" + "---|" * len(b.headers))
            out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif isinstance(b, Figure):
            out += [f"![{b.title}]({b.file})", ""]
    return "\n".join(out).rstrip() + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1a1a1a;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em;
     border-bottom: 1px solid #ddd; padding-bottom: 0.2em; } h3 { margin-top: 1.2em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; margin: 0.6em 0 1em 0; }
th { text-align: left; border-bottom: 2px solid #bbb; padding: 0.3em 0.5em; }
td { border-bottom: 1px solid #e3e3e3; padding: 0.3em 0.5em; vertical-align: top; }
figure { margin: 1em 0; overflow-x: auto; } figcaption { font-size: 0.85em; color: #555; }
.strong { font-weight: 600; } .meta { color: #555; font-size: 0.9em; }
@media print { body { margin: 0; } figure { break-inside: avoid; } }
"""


def to_html(doc: Document, meta: str = "") -> str:
    """One self-contained page: inline CSS and SVG, no scripts, no external resources."""
    e = html.escape
    body = [f"<h1>{e(doc.title)}</h1>"]
    if meta:
        body.append(f'<p class="meta">{e(meta)}</p>')
    for b in doc.blocks:
        if isinstance(b, Heading):
            level = min(max(b.level, 1), 6)
            body.append(f"<h{level}>{e(b.text)}</h{level}>")
        elif isinstance(b, Paragraph):
            body.append(f'<p class="strong">{e(b.text)}</p>' if b.strong else f"<p>{e(b.text)}</p>")
        elif isinstance(b, Bullets):
            body.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            cls = f' class="{e(b.css_class)}"' if b.css_class else ""
            head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>"
                           for row in b.rows)
            body.append(f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Figure):
            body.append(f'<figure id="{e(b.id)}" class="wb-chart">{b.svg}'
                        f"<figcaption>{e(b.title)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(doc.title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
