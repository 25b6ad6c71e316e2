"""index.html: one card per report with its headline figures, status, duration and links."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..catalogue import title as report_title
from .html import CSP

# (label, dotted key, format) per notebook; missing keys are left out
HEADLINES: dict[str, list[tuple[str, str, str]]] = {
    "engagement_kpis": [
        ("Customer retention", "retention.customer_retention_rate", "pct"),
        ("Repeat purchase rate", "retention.repeat_purchase_rate", "pct"),
        ("Average order value", "revenue.average_order_value", "money"),
        ("Net Promoter Score", "satisfaction.nps", "num1"),
        ("Email open rate", "email.open_rate", "pct"),
    ],
    "cohort_retention": [
        ("Customers", "customers", "int"),
        ("Cohorts", "cohorts", "int"),
        ("Bought again", "average_retention.1", "pct"),
        ("Bought again", "average_retention.3", "pct"),
        ("Retention across cohorts", "trend.direction", "text"),
    ],
    "clv_bgnbd": [
        ("Customers", "clv.customers", "int"),
        ("Expected value of all customers", "clv.total", "money0"),
        ("Expected value per customer", "clv.mean", "money"),
        ("Repeat purchases in the test period (actual)", "holdout.actual_repeat_transactions", "int"),
        ("Repeat purchases in the test period (forecast)", "holdout.predicted_repeat_transactions", "num0"),
    ],
    "churn_prediction": [
        ("At risk and still reachable", "at_risk.reachable", "int"),
        ("Already gone", "gone.customers", "int"),
        ("Customers who stopped buying", "test.churn_rate", "pct"),
    ],
    "channel_comparison": [
        ("Compared by", "compare_by", "words"),
        ("Outcome", "outcome", "words"),
        ("Differences beyond chance", "omnibus.p_value", "beyond_chance"),
    ],
    "customer_engagement": [
        ("Highly engaged", "levels.high.share", "pct"),
        ("Low engagement", "levels.low.share", "pct"),
        ("Fell a level since the last period end", "moved_down", "int"),
        ("Score sorts later buyers first (0.5 chance, 1 perfect)", "validation.roc_auc", "num3"),
        ("Recency alone, the same way", "validation.recency_roc_auc", "num3"),
    ],
    "customer_journey": [
        ("People from first contact on", "people", "int"),
        ("Made a first purchase", "buyers", "int"),
        ("Leads who became customers", "leads.conversion_rate", "pct"),
        ("Days from first contact to a first purchase (median)", "time_to_first_purchase.median_days", "num0"),
        ("Days to a second purchase (median)", "time_to_repeat_purchase.median_days", "num0"),
    ],
}


def _get(d: dict[str, Any], dotted: str) -> Any:
    node: Any = d
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _fmt(value: Any, kind: str, currency: str) -> str | None:
    if isinstance(value, dict) and "value" in value:
        if value["value"] is None and value.get("reason"):  # a figure that cannot be computed
            return f"n/a ({value['reason']})"
        value = value["value"]
    if value is None:
        return None
    try:
        if kind == "pct":
            return f"{float(value):.1%}"
        if kind == "money":
            return f"{float(value):,.2f} {currency}".strip()
        if kind == "money0":  # a total: whole units are the digits that matter
            return f"{float(value):,.0f} {currency}".strip()
        if kind == "int":
            return f"{int(value):,}"
        if kind == "num0":
            return f"{float(value):,.0f}"
        if kind == "num3":
            return f"{float(value):.3f}"
        if kind == "num1":
            return f"{float(value):,.1f}"
        if kind == "beyond_chance":  # a p-value, said in words
            return "yes" if float(value) < 0.05 else "no"
        if kind == "words":  # an identifier in words: gradient_boosting -> gradient boosting
            return str(value).replace("_", " ")
    except (TypeError, ValueError):
        return str(value)
    return str(value)


def headline_figures(name: str, results: dict[str, Any], currency: str = "") -> list[tuple[str, str]]:
    """(label, formatted value) pairs for a report card.

    A figure that cannot be computed shows "n/a" with its reason (once: a reason already
    shown is not repeated). Figures that depend on the activity window name it.
    """
    out = []
    seen: set[str] = set()
    active = results.get("active_days")
    days = active.get("value") if isinstance(active, dict) else None
    window = {
        "retention.customer_retention_rate": f"active = bought in the last {days} days" if days else None,
        "test.churn_rate": (f"no purchase in {results['inactivity_days']} days"
                            if isinstance(results.get("inactivity_days"), int) else None),
    }
    unit = {"W": "week", "M": "month", "Q": "quarter"}.get(str(results.get("period")))
    if name == "cohort_retention" and unit:  # a purchase in that period, not the activity window
        later = " or later" if results.get("retention_mode") == "unbounded" else ""
        for k in ("1", "3"):
            window[f"average_retention.{k}"] = f"in {unit} {k}{later} after joining"
    for label, key, kind in HEADLINES.get(name, []):
        raw = _get(results, key)
        text = _fmt(raw, kind, currency)
        if text is None:
            continue
        if isinstance(raw, dict) and raw.get("value") is None and raw.get("reason"):
            if raw["reason"] in seen:
                text = "n/a"
            seen.add(raw["reason"])
        if window.get(key):
            label = f"{label} ({window[key]})"
        out.append((label, text))
    if name == "channel_comparison":
        pairs = results.get("pairwise") or []
        if pairs:
            sig = sum(1 for p in pairs if p.get("significant"))
            out.append(("Pairs that differ beyond chance", f"{sig} of {len(pairs)}"))
    return out


CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0; background: #f5f7fa; color: #222; }
header { background: #1f3b57; color: #fff; padding: 22px 32px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header .meta { font-size: 14px; opacity: .9; display: flex; gap: 24px; flex-wrap: wrap; }
main { max-width: 1100px; margin: 0 auto; padding: 20px 24px 40px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 16px; }
.card { background: #fff; border: 1px solid #dde3ea; border-radius: 8px; padding: 14px 18px; }
.card h2 { font-size: 18px; margin: 0 0 6px; }
.card h2 a { color: #1f3b57; text-decoration: none; }
.status { display: inline-block; font-size: 12px; padding: 2px 8px; border-radius: 10px; margin-bottom: 8px; }
.status.ok { background: #e3f4e6; color: #1d6b2a; }
.status.failed { background: #fdecea; color: #8a1c1c; }
.status.skipped, .status.not_applicable { background: #eee; color: #555; }
.error { font-size: 13px; color: #8a1c1c; background: #fff6f5; padding: 6px 8px; border-radius: 4px; word-break: break-word; }
dl { display: grid; grid-template-columns: 1fr auto; gap: 3px 12px; margin: 6px 0 10px; font-size: 14px; }
dt { color: #555; } dd { margin: 0; font-weight: 600; text-align: right; }
.links { font-size: 13px; } .links a { margin-right: 12px; color: #1f77b4; }
.summary { margin: 0 0 16px; font-size: 15px; }
.reason { font-size: 13px; color: #555; }
.warnings summary { cursor: pointer; }
.warnings { font-size: 13px; color: #6b5200; background: #fff8e1; border: 1px solid #f0e0a0; border-radius: 6px; padding: 8px 14px; margin-top: 20px; }
footer { color: #888; font-size: 12px; text-align: center; padding: 16px; }
.found { background: #f7f9fc; border: 1px solid #e3e8ef; border-radius: 8px; padding: 6px 18px 10px; margin: 8px 0 16px; }
.found h2 { font-size: 18px; margin: 8px 0 6px; } .found li { margin: 4px 0; font-size: 15px; } .found a { font-size: 13px; }
"""


def what_we_found(results: list[Any], *, most: int = 5) -> str:
    """The index's opening: the first finding of each report (then the second...), at most
    ``most``, each linking to the report it comes from; "" when no report has findings."""
    e = html.escape
    lists = [(r, list((r.results or {}).get("findings") or [])) for r in results if r.status == "ok" and r.html]
    picked: list[tuple[Any, str]] = []
    depth = 0
    while len(picked) < most and any(len(f) > depth for _, f in lists):
        picked += [(r, f[depth]) for r, f in lists if len(f) > depth][: most - len(picked)]
        depth += 1
    if not picked:
        return ""
    items = "".join(
        f'<li>{e(str(text))} <a href="{e(r.html)}#What-we-found">{e(report_title(r.name))}</a></li>' for r, text in picked
    )
    return f'<section class="found"><h2>What we found</h2><ul>{items}</ul></section>'


STATUS_WORDS = {"ok": "ok", "failed": "failed", "skipped": "not run", "not_applicable": "not applicable"}


def write_index(folder: Path, results: list[Any], meta: dict[str, Any]) -> Path:
    """Write ``folder/index.html`` for the notebook results of one run."""
    e = html.escape
    currency = meta.get("currency", "")
    cards = []
    for r in results:
        title = e(report_title(r.name))
        head = f'<a href="{e(r.html)}">{title}</a>' if r.html else title
        figures = headline_figures(r.name, r.results or {}, currency) if r.status == "ok" else []
        dl = "".join(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in figures)
        links = []
        if r.html:
            links.append(f'<a href="{e(r.html)}">report</a>')
        if r.ipynb:
            links.append(f'<a href="{e(r.ipynb)}">executed notebook</a>')
        if r.status == "ok" and r.results:
            links.append(f'<a href="{e(r.name)}/results.json">results.json</a>')
        err = f'<div class="error">{e(r.error)}</div>' if r.error else ""
        if getattr(r, "reason", None):
            err += f'<div class="reason">{e(r.reason)}</div>'

        cards.append(
            f'<section class="card"><h2>{head}</h2>'
            f'<span class="status {e(r.status)}">{e(STATUS_WORDS.get(r.status, r.status))}</span>'
            f"{err}<dl>{dl}</dl>"
            f'<div class="links">{"".join(links)}</div></section>'
        )
    ok = sum(1 for r in results if r.status == "ok")
    failed = [r.name for r in results if r.status == "failed"]
    summary = f"{ok} of {len(results)} reports rendered."
    not_run = [r.name for r in results if r.status == "skipped"]
    if not_run:
        summary += f" Not run on this data: {', '.join(report_title(n) for n in not_run)}."
    na = [report_title(r.name) for r in results if r.status == "not_applicable"]
    if na:
        summary += f" Not applicable to this data: {', '.join(na)} (the card says why)."
    if failed:
        summary += " Failed: " + ", ".join(failed) + " (see the cards below)."
    warnings = meta.get("warnings") or []
    warn_html = ""
    if warnings:
        # what loading found, with the settings that change it: for the analyst, folded
        warn_html = ('<details class="warnings"><summary><b>Data notes</b> (what the checks found in the data, '
                     f"{len(warnings)})</summary><ul>" + "".join(f"<li>{e(w)}</li>" for w in warnings) + "</ul></details>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{e(str(meta.get("title", "Reports")))}</title><style>{CSS}</style></head>
<body><header><h1>{e(str(meta.get("title", "Reports")))}</h1>
<div class="meta"><span>Dataset: <b>{e(str(meta.get("dataset", "")))}</b></span>
<span>Data as of: <b>{e(str(meta.get("as_of", "")))}</b></span>
<span>Data from: <b>{e(str(meta.get("data_range", "")))}</b></span>
<span>Rendered: <b>{e(str(meta.get("run_at", "")))}</b></span></div></header>
<main>{what_we_found(results)}<p class="summary">{e(summary)}</p><div class="cards">{"".join(cards)}</div>{warn_html}</main>
<footer>engage-kit {e(str(meta.get("kit_version", "")))}</footer></body></html>
"""
    path = Path(folder) / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
