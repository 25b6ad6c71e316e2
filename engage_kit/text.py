"""Values from the data as text: escaped for HTML and Markdown, safe as chart labels.

Every value that comes from the data (segments, channels, campaigns, touchpoints, pages,
products, ids, column names, titles) passes through :func:`esc` on its way into a
sentence, a card or a table, and through :func:`chart_label` on its way into a figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Markdown's syntax characters as HTML character references: in Markdown they are plain
# characters (no emphasis, link, code, table cell or heading), in HTML they render as
# themselves, so one escaped string is safe in both.
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&#x27;",
        "\\": "&#92;",
        "`": "&#96;",
        "*": "&#42;",
        "_": "&#95;",
        "[": "&#91;",
        "]": "&#93;",
        "(": "&#40;",
        ")": "&#41;",
        "!": "&#33;",
        "#": "&#35;",
        "|": "&#124;",
        "~": "&#126;",
        "$": "&#36;",
        ":": "&#58;",
        "\r": " ",
        "\n": " ",
    }
)


def esc(value: Any) -> str:
    """``value`` as text that shows literally in HTML and in Markdown.

    HTML's special characters become entities (as ``html.escape`` makes them), and so do Markdown's
    (``*``, ``_``, ``[``, backticks, ``|``...), so a value can neither open a tag nor
    start a link, emphasis, a code span or a table cell; line breaks become spaces.
    """
    return str(value).translate(_ESCAPES)  # one pass: an entity is never escaped again


def chart_label(value: Any) -> str:
    """A data value as a chart label: '$' escaped so matplotlib does not read it as math."""
    return str(value).replace("$", r"\$")


def words(value: Any) -> str:
    """A group, column or outcome name from the data as words: ``paid_search`` reads "paid search".

    Only for showing: tables' CSV downloads and results.json keep the value as it is in the data.
    """
    return str(value).replace("_", " ")


def pct(x: Any, digits: int = 1) -> str:
    """A fraction as a percentage with ``digits`` decimals (100 × x, as results.json's value
    reads); "n/a" when it is missing or not finite."""
    if x is None or not np.isfinite(float(x)):
        return "n/a"
    return f"{100 * float(x):.{digits}f}%"
