"""Helpers that keep notebooks thin: open the data, show tables and KPI cards, export.

A notebook starts with::

    import engage_kit as ek
    from engage_kit import nb
    ctx = nb.start("engagement_kpis", config=config, output_dir=output_dir, params={...})

and then calls analysis functions with ``ctx.ds`` and shows their results with
:func:`table`, :func:`kpi_cards` and :func:`say`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import HTML, Markdown, display

from .plots import set_theme, show_titles_as_alt_text
from .privacy import PSEUDONYMISE_ENV, SALT_ENV, pseudonymise  # noqa: F401 (part of nb's face)
from .text import esc

APPENDIX = "Method and diagnostics"  # the title of every report's collapsed last section


@dataclass
class Context:
    """What a running notebook needs: the dataset, its output folder, its parameters."""

    name: str
    ds: Any
    output_dir: Path
    params: dict[str, Any]
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    active_window: Any = field(default=None, repr=False)  # set by :meth:`active`, written to results.json

    @property
    def currency(self) -> str:
        return self.ds.config.currency

    def active(self, parameter: Any = None) -> Any:
        """The report's activity window (:class:`engage_kit.activity.ActiveWindow`).

        ``parameter`` (the notebook's, None by default) wins, then the config's
        ``active_days``, else the window is chosen from the transactions
        (:func:`engage_kit.activity.default_active_days`). The one place every notebook
        resolves it; :meth:`write_results` records it as ``active_days: {value, source}``.
        """
        from .activity import active_window

        if self.active_window is None or parameter is not None or self.active_window.source == "parameter":
            configured = getattr(self.ds.config, "active_days", None)
            known = getattr(self.ds, "activity", None)  # chosen once by the report run, at this as_of
            if parameter is None and configured is None and known is not None:
                self.active_window = known
            else:
                tx = self.ds.table("transactions") if self.ds.has("transactions") else None
                self.active_window = active_window(tx, parameter=parameter, configured=configured, as_of=self.ds.as_of)
        return self.active_window

    def path(self, filename: str) -> Path:
        """A file in this notebook's output folder (``OUT/<name>/<filename>``)."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        return self.output_dir / filename

    def export(self, df: pd.DataFrame, filename: str, *, index: bool = False) -> None:
        """Write a table worth exporting as CSV into the output folder (real ids kept).

        Returns nothing, so a notebook cell ending with it shows no file path.
        """
        df.to_csv(self.path(filename), index=index)

    def export_table(self, table: Any, stem: str) -> str:
        """Write a per-customer Ibis table from the engine (``stem.csv`` on DuckDB, a
        ``stem.parquet/`` directory on Spark) and return the file name written."""
        from .engine import write_table

        self.output_dir.mkdir(parents=True, exist_ok=True)
        return write_table(table, self.output_dir, stem).name

    def write_results(self, results: dict[str, Any], *, findings: list[str] | None = None) -> None:
        """Write ``results.json`` (dotted keys nest; a meta object is added).

        Once :meth:`active` has run, ``active_days: {value, source}`` is recorded too.
        ``findings`` (the sentences of "What we found") are kept as plain text under
        ``findings``, for the index page.
        """
        from .results import write_results

        if self.active_window is not None and "active_days" not in results:
            results = {**results, "active_days": self.active_window.to_dict()}
        if findings:
            results = {**results, "findings": [plain(f) for f in findings]}
        write_results(
            self.output_dir,
            results,
            notebook=self.name,
            parameters=self.params,
            dataset=self.ds,
            started=self.started,
        )


def start(name: str, *, config: Any, output_dir: Any, params: dict[str, Any] | None = None) -> Context:
    """Open the dataset, apply the plot theme and show the title block.

    ``output_dir`` is the folder for the whole run: this notebook writes into
    ``output_dir/<name>/``. ``config`` is a config path, a built-in dataset name or a
    snapshot folder written by the report runner.
    """
    from .opening import open_dataset

    set_theme()
    show_titles_as_alt_text()
    params = dict(params or {})
    as_of = params.get("as_of")
    ds = open_dataset(config, as_of=as_of) if as_of else open_dataset(config)
    out = Path(output_dir or "output") / name
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(name=name, ds=ds, output_dir=out, params=params)
    return ctx


def plain(markdown: str) -> str:
    """A one-line Markdown sentence as plain text: bold marks removed, entities (from
    :func:`engage_kit.text.esc`) turned back into the characters they stand for."""
    import html

    return html.unescape(markdown.replace("**", ""))


def say(text: str) -> None:
    """Show Markdown text (numbers filled in by the caller). Data values are escaped."""
    display(Markdown(text))


def table(
    df: pd.DataFrame,
    *,
    percent: list[str] | tuple[str, ...] = (),
    money: list[str] | tuple[str, ...] = (),
    integer: list[str] | tuple[str, ...] = (),
    decimals: int = 2,
    currency: str = "",
    ids: list[str] | tuple[str, ...] = ("customer_id",),
    caption: str | None = None,
    index: bool = False,
    max_rows: int = 50,
) -> None:
    """Display a readable table: formatted numbers, percentages, money, escaped text.

    Columns named in ``ids`` are pseudonymised when the runner asks for it. Under the
    table, a link downloads the rows shown as CSV, embedded in the page (nothing is
    fetched; a page mailed on keeps its tables).
    """
    cut = len(df) > max_rows
    df = df.head(max_rows).copy()
    for c in ids:
        if c in df.columns:
            df[c] = pseudonymise(df[c]).to_numpy()
    fmt: dict[str, Any] = {}
    for c in df.columns:
        if c in percent:
            fmt[c] = "{:.1%}"
        elif c in money:
            fmt[c] = "{:,.2f} " + currency if currency else "{:,.2f}"
        elif c in integer:
            fmt[c] = "{:,.0f}"
        elif pd.api.types.is_float_dtype(df[c]):
            fmt[c] = "{:,.%sf}".replace("%s", str(decimals))
        elif pd.api.types.is_integer_dtype(df[c]):
            fmt[c] = "{:,}"
    styler = df.style.format(fmt, na_rep="–", escape="html")
    text_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if text_cols:  # numbers stay right-aligned, words read left to right (their headers too)
        styler = styler.set_properties(subset=text_cols, **{"text-align": "left"})
        styler = styler.set_table_styles(
            [{"selector": f"th.col_heading.col{list(df.columns).index(c)}", "props": [("text-align", "left")]}
             for c in text_cols], overwrite=False)
    styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    if not index:
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(esc(caption))
    styler = styler.set_table_attributes('class="ek-table ek-sortable"' if len(df) > 20 else 'class="ek-table"')
    display(styler)
    if len(df):
        display(HTML(_download_link(df, caption, cut=cut)))


def _download_link(df: pd.DataFrame, caption: str | None, *, cut: bool) -> str:
    """A link that saves ``df`` as CSV from a data: URI (UTF-8, no index)."""
    import html
    import re
    from urllib.parse import quote

    name = re.sub(r"[^a-z0-9]+", "-", (caption or "table").lower()).strip("-")[:60] or "table"
    data = quote(df.to_csv(index=False), safe="")
    note = f" (the {len(df):,} rows shown)" if cut else ""
    return (f'<p class="ek-download"><a download="{html.escape(name)}.csv" href="data:text/csv;charset=utf-8,{data}">'
            f"Download this table as CSV</a>{html.escape(note)}</p>")


def kpi_cards(cards: list[dict[str, Any]]) -> None:
    """Show KPI cards: each a dict with label, value (text), detail (text), delta, good.

    ``delta`` is a short text such as "+2.1 pts"; ``up`` (True/False/None) chooses the
    arrow (by default the delta's sign); ``good`` is True/False/None and colours it (green,
    red, grey). All text is escaped.
    """
    parts = []
    for c in cards:
        delta = c.get("delta")
        good = c.get("good")
        arrow = ""
        if delta:
            up = c.get("up", str(delta).strip().startswith("+") or (None if not str(delta).strip().startswith(("-", "−")) else False))
            sym = "▲" if up is True else ("▼" if up is False else "■")
            colour = "#2ca02c" if good is True else ("#d62728" if good is False else "#777")
            arrow = f'<div class="ek-delta" style="color:{colour}">{sym} {esc(delta)}</div>'
        parts.append(
            '<div class="ek-card">'
            f'<div class="ek-label">{esc(c.get("label", ""))}</div>'
            f'<div class="ek-value">{esc(c.get("value", ""))}</div>'
            f'<div class="ek-detail">{esc(c.get("detail", ""))}</div>'
            f"{arrow}</div>"
        )
    style = (
        "<style>.ek-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;margin:8px 0}"
        ".ek-card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;background:#fafafa}"
        ".ek-label{font-size:12px;color:#555;text-transform:uppercase;letter-spacing:.03em}"
        ".ek-value{font-size:24px;font-weight:600;margin:2px 0}"
        ".ek-detail{font-size:12px;color:#666}.ek-delta{font-size:13px;margin-top:2px}</style>"
    )
    display(HTML(style + '<div class="ek-cards">' + "".join(parts) + "</div>"))


def skipped(section: str, reason: str) -> None:
    """Say that a section is skipped and why (e.g. a missing table)."""
    display(Markdown(f"> **{esc(section)} skipped:** {esc(reason)}"))


def skipped_parts(reasons: dict[str, str | None]) -> None:
    """:func:`skipped` for every part with a reason (None: the part was not skipped)."""
    for part, why in reasons.items():
        if why:
            skipped(part, why)


def section(title: str, reason: str | None = None, intro: str | None = None) -> bool:
    """A section's heading (and ``intro``, Markdown) when the data allows it: ``reason`` None.

    Returns whether the section is shown. A section the data does not allow is not rendered
    at all (no heading, no contents entry): :func:`not_covered` names it, with ``reason``,
    once near the top of the report.
    """
    if reason is not None:
        return False
    display(Markdown(f"## {esc(title)}" + (f"\n\n{intro}" if intro else "")))
    return True


def not_covered(reasons: dict[str, str | None]) -> None:
    """One line saying which parts of the report this data does not cover, and why."""
    missing = {k: r for k, r in reasons.items() if r}
    if missing:
        display(Markdown("*Not covered by this data:* "
                         + "; ".join(f"{esc(k)} ({esc(r)})" for k, r in missing.items()) + "."))


def findings(items: list[str]) -> None:
    """The report's opening: "What we found", 3-5 findings in plain words (Markdown from a story module)."""
    if items:
        display(Markdown("## What we found\n\n" + "\n".join(f"- {t}" for t in items)))


def appendix(intro: str | None = None) -> None:
    """Start the last section, "Method and diagnostics": collapsed in the HTML report, it holds
    model parameters, test names and diagnostics."""
    display(Markdown(f"## {APPENDIX}" + (f"\n\n{intro}" if intro else "")))
