"""Self-contained HTML from an executed notebook (DESIGN.md, Output contract).

Figures are embedded as data URIs, CSS is inlined, nothing is loaded from the network,
code is hidden (or folded under "Show code"), and a title block and a table of contents
come first. Cell tags ``remove-cell``, ``remove-input`` and ``remove-output`` are honoured.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
from pathlib import Path
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config as TraitletsConfig

TEMPLATES = Path(__file__).parent / "templates"
# the page's one script: click a header of a long table (class ek-sortable) to sort by it
SORT_JS = (
    'document.querySelectorAll("table.ek-sortable").forEach(function(t){var b=t.tBodies[0];if(!b||!t.tHead)return;'
    "var hs=t.tHead.rows[t.tHead.rows.length-1].cells;Array.prototype.forEach.call(hs,function(h,i){"
    'h.style.cursor="pointer";h.title="Click to sort";h.addEventListener("click",function(){'
    'var asc=h.getAttribute("data-ek-asc")!=="1";h.setAttribute("data-ek-asc",asc?"1":"0");'
    "var rows=Array.prototype.slice.call(b.rows);function key(r){var c=r.cells[i];"
    'var s=c?c.textContent.trim():"";var n=parseFloat(s.replace(/^[^0-9+\\-.]+|[^0-9.eE+\\-]+$/g,"").replace(/,/g,""));'
    "return isNaN(n)||/^\\d{4}-\\d{2}/.test(s)?s.toLowerCase():n;}rows.sort(function(x,y){var a=key(x),c=key(y);"
    'if(typeof a===typeof c){return(a<c?-1:a>c?1:0)*(asc?1:-1);}return typeof a==="number"?-1:1;});'
    "rows.forEach(function(r){b.appendChild(r);});});});});"
)
# what a report page may load: no script but the one above (by its hash: a script planted
# in the data cannot run), images and fonts only embedded
CSP = (
    "default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{base64.b64encode(hashlib.sha256(SORT_JS.encode()).digest()).decode()}'; "
    "base-uri 'none'; form-action 'none'"
)

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif'
CSS = """
:root { --jp-content-font-family: FONT; --jp-ui-font-family: FONT; --jp-content-heading-font-family: FONT; }
body, body.jp-Notebook, h1, h2, h3, h4, table, .ek-toc { font-family: FONT; }
body.jp-Notebook { max-width: 1080px; margin: 0 auto; padding: 0 24px 40px; }
.ek-back { display: inline-block; font-size: 13px; margin: 14px 0 0; color: #1f77b4; text-decoration: none; }
.ek-back:hover { text-decoration: underline; }
.ek-header { border-bottom: 3px solid #1f77b4; padding: 24px 0 12px; margin-bottom: 8px; }
.ek-header h1.ek-title { font-size: 26px; margin: 0 0 4px; }
.ek-header .ek-subtitle { font-size: 16px; color: #444; margin: 0 0 10px; }
.ek-meta { display: flex; flex-wrap: wrap; gap: 6px 22px; font-size: 13px; color: #555; }
.ek-meta b { color: #222; font-weight: 600; }
.ek-params { font-size: 12px; color: #666; margin-top: 6px; }
.ek-params code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
.ek-status-failed { background: #fdecea; border: 1px solid #d62728; color: #7a1212; padding: 10px 14px;
  border-radius: 6px; margin: 12px 0; }
.ek-toc { background: #f7f9fc; border: 1px solid #e3e8ef; border-radius: 6px; padding: 8px 16px; margin: 12px 0 18px; }
.ek-toc:empty { display: none; }
.ek-toc ol { margin: 4px 0; padding-left: 20px; columns: 2; }
.ek-toc li { font-size: 14px; margin: 2px 0; }
.ek-footer { color: #888; font-size: 12px; border-top: 1px solid #ddd; margin-top: 30px; padding-top: 8px; }
details.ek-code { margin: 4px 0 4px 0; }
details.ek-code > summary { cursor: pointer; color: #1f77b4; font-size: 12px; }
.jp-InputPrompt, .jp-OutputPrompt { display: none; }
.jp-Cell { padding: 2px 0; }
.jp-RenderedHTMLCommon table, table.ek-table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
.jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon td { padding: 4px 10px; }
.jp-RenderedHTMLCommon td { white-space: nowrap; }
.jp-RenderedHTMLCommon td:first-child { white-space: nowrap; word-break: keep-all; hyphens: none; }
.jp-OutputArea-output { overflow-x: auto; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: #f8f8f8; }
.jp-RenderedHTMLCommon caption { caption-side: top; text-align: left; font-weight: 600; color: #333; padding: 4px 0; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
.jp-RenderedHTMLCommon h2 { border-bottom: 1px solid #e3e3e3; padding-bottom: 4px; margin-top: 28px; }
main .jp-RenderedHTMLCommon h1 { display: none; }  /* the notebook's own title: the header has it */
.ek-download { font-size: 12px; margin: -6px 0 12px; }
.ek-download a { color: #1f77b4; }
@media print { .ek-download { display: none; } }
details.ek-appendix { border-top: 1px solid #e3e3e3; margin-top: 28px; padding-top: 6px; }
details.ek-appendix > summary { cursor: pointer; font-size: 20px; font-weight: 600; padding: 8px 0; }
details.ek-appendix h2#Method-and-diagnostics { display: none; }
@media (min-width: 1600px) {
  .ek-toc { position: fixed; top: 24px; left: 16px; width: 230px; max-height: 90vh; overflow-y: auto; margin: 0; }
  .ek-toc ol { columns: 1; }
}
@media print {
  @page { size: A4; margin: 14mm; }
  body.jp-Notebook { max-width: none; padding: 0; }
  .ek-toc, .ek-back { display: none; }
  .jp-OutputArea-output { overflow: visible; }
  .jp-RenderedHTMLCommon td { white-space: normal; }
  table, img, .jp-RenderedImage { page-break-inside: avoid; break-inside: avoid; }
  h2, h3 { page-break-after: avoid; break-after: avoid; }
}
""".replace("FONT", FONT)

_H2 = re.compile(r'<h2 id="([^"]+)">(.*?)(?:<a class="anchor-link"[^>]*>.*?</a>)?</h2>', re.S)
_TAGS = re.compile(r"<[^>]+>")


def _toc(body: str) -> str:
    items = []
    for anchor, title in _H2.findall(body):
        text = _TAGS.sub("", title).strip()
        if text:
            items.append(f'<li><a href="#{anchor}">{text}</a></li>')
    if not items:
        return ""
    return "<b>Contents</b><ol>" + "".join(items) + "</ol>"


_DEFAULT_ALT = 'alt="No description has been provided for this image"'
_HEADING_OR_ALT = re.compile(r'<h[23][^>]*>(.*?)</h[23]>|' + re.escape(_DEFAULT_ALT), re.S)


def _alt_texts(body: str) -> str:
    """Give every chart an alternative text from its section (nbconvert's default says nothing)."""
    section = ""

    def swap(m: re.Match[str]) -> str:
        nonlocal section
        if m.group(0).startswith("<h"):
            text = _TAGS.sub("", m.group(1)).replace("¶", "").strip()
            section = text or section
            return m.group(0)
        return f'alt="Chart: {section}"' if section else 'alt="Chart"'

    return _HEADING_OR_ALT.sub(swap, body)


_APPENDIX_ID = 'id="Method-and-diagnostics"'
_CELL_START = '<div class="jp-Cell '  # a cell, not its parts (jp-Cell-outputWrapper)


def _collapse_appendix(body: str) -> str:
    """Fold the "Method and diagnostics" section (from the cell that opens it to the end of
    the page's main part) under one ``<details>``, closed by default; it stays in the print."""
    at = body.find(f"<h2 {_APPENDIX_ID}")
    end = body.rfind("</main>")
    if at < 0 or end < at:
        return body
    start = body.rfind(_CELL_START, 0, at)
    start = at if start < 0 else start
    return (body[:start] + '<details class="ek-appendix" id="appendix"><summary>Method and diagnostics</summary>'
            + body[start:end] + "</details>\n" + body[end:])


def header_html(meta: dict[str, Any]) -> str:
    """The title block: report title, dataset title, as-of date, run time and parameters."""
    e = html.escape
    rows = []
    for label, key in [
        ("Dataset", "dataset"),
        ("Data as of", "as_of"),
        ("Data from", "data_range"),
        ("Rendered", "run_at"),
        ("Run time", "duration"),
    ]:
        if meta.get(key):
            rows.append(f"<span>{e(label)}: <b>{e(str(meta[key]))}</b></span>")
    params = meta.get("parameters") or {}
    shown = {k: v for k, v in params.items() if k not in ("config", "output_dir")}
    param_html = ""
    if shown:
        param_html = '<div class="ek-params">Parameters: ' + ", ".join(
            f"<code>{e(str(k))} = {e(repr(v))}</code>" for k, v in shown.items()
        ) + "</div>"
    failed = ""
    if meta.get("error"):
        failed = (
            '<div class="ek-status-failed"><b>This report did not finish.</b> '
            f"{e(str(meta['error']))}. The sections below are what ran before the failure.</div>"
        )
    back = f'<a class="ek-back" href="{e(str(meta["index_href"]))}">← All reports</a>' if meta.get("index_href") else ""
    return (
        f'{back}<h1 class="ek-title">{e(str(meta.get("report_title", "")))}</h1>'
        f'<div class="ek-subtitle">{e(str(meta.get("title", "")))}</div>'
        f'<div class="ek-meta">{"".join(rows)}</div>{param_html}{failed}'
    )


def render_html(
    notebook: str | Path,
    html_path: str | Path,
    *,
    meta: dict[str, Any],
    show_code: bool = False,
) -> Path:
    """Render an executed notebook to one self-contained HTML file."""
    nb = nbformat.read(str(notebook), as_version=4)
    c = TraitletsConfig()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_cell_tags = {"remove-cell"}
    c.TagRemovePreprocessor.remove_input_tags = {"remove-input"}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
    exporter = HTMLExporter(config=c, extra_template_basedirs=[str(TEMPLATES)], template_name="engage")
    exporter.log.setLevel(logging.ERROR)  # not the per-image "alternative text" notices
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    if not show_code:
        # the injected-parameters and parameters cells say nothing to a reader
        nb.cells = [
            cell
            for cell in nb.cells
            if not (
                cell.cell_type == "code"
                and {"parameters", "injected-parameters"} & set(cell.metadata.get("tags", []))
                and not cell.get("outputs")
            )
        ]
    resources = {
        "ek_css": CSS,
        "ek_csp": CSP,
        "ek_header": header_html(meta),
        "ek_footer": html.escape(
            f"engage-kit {meta.get('kit_version', '')} · {meta.get('report_title', '')} · "
            "every figure is computed from the data named at the top of this page"
        ),
        "ek_show_code": show_code,
        "ek_js": SORT_JS,
        "metadata": {"name": str(meta.get("report_title", "report"))},
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body = body.replace("<!--EK-TOC-->", _toc(body), 1)
    body = _alt_texts(body)
    body = _collapse_appendix(body)
    html_path = Path(html_path)
    html_path.write_text(body, encoding="utf-8")
    return html_path
