"""Import presets: the config of a tool's export, shipped as data (``preset: shopify_orders``).

A preset is a YAML file in this folder. It names the tool, says how to export the file,
and gives, per canonical table it can fill, the table settings a hand-written config would
hold (``read``, ``columns``, ``derive``, ``constants``, ``values``, ``exclude``,
``missing_customer_id``, ``returns``, ``attributes``) plus ``optional``: the canonical
columns the preset maps when the export has them, ``user_columns``: canonical columns
whose source name only the user knows (a survey tool names an answer column after the
question's text), each with what to set (a table without them is a config error saying so),
and ``export``: how to get that table's file when it is not the preset's main export (a
query, for a tool whose data lives in a warehouse).
Nothing in a preset is code.

A table that names a preset starts from the preset's settings for that table; every key
the user writes overrides the preset's, mapping keys (``columns``, ``read``, ``derive``,
...) entry by entry, and a column the user maps in ``columns`` replaces the preset's
``derive`` or ``constants`` entry for it (and the other way round).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from ..errors import ConfigError, did_you_mean
from ..headers import _name_key
from ..schema import TABLES

# keys of a preset's table section that are table settings (the rest describe the preset)
_MERGED = ("read", "columns", "derive", "constants", "values", "exclude", "returns")
_PLAIN = ("missing_customer_id", "attributes", "outliers")
_PRESET_ONLY = ("optional", "user_columns", "export")
# the keys that name a canonical column (an entry in one replaces the entry in the others)
_COLUMN_KEYS = ("columns", "derive", "constants")
# share of a preset's expected headers a file must have to be suggested as that export
SUGGEST_SHARE = 0.75


@dataclass(frozen=True)
class Preset:
    """One tool's export: its description and its settings per canonical table."""

    name: str
    title: str
    tool: str
    export: str
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: str = ""
    unsupported: dict[str, str] = field(default_factory=dict)  # table -> why it is not filled here

    def expects(self, table: str) -> list[str]:
        """The export's columns that table ``table`` needs, in the preset's order."""
        return expected_columns(self.tables[table])

    def optional_columns(self, table: str) -> dict[str, str]:
        """Canonical column -> export column, for the columns used when the export has them."""
        section = self.tables[table]
        return {c: section["columns"][c] for c in section.get("optional", ()) if c in section.get("columns", {})}


def _from_derive(text: str) -> list[str]:
    from ..derive import columns, parse

    return columns(parse(text))


def expected_columns(section: dict[str, Any]) -> list[str]:
    """The source columns a table section reads, its optional columns left out."""
    optional = set(section.get("optional", ()))
    out: dict[str, None] = {}
    for canon, col in (section.get("columns") or {}).items():
        if canon not in optional:
            out.setdefault(str(col), None)
    for text in (section.get("derive") or {}).values():
        for col in _from_derive(str(text)):
            out.setdefault(col, None)
    returns = section.get("returns") or {}
    for col in list(returns.get("cancel_when") or {}) + [returns.get("refund_column"), returns.get("order_column")]:
        if col:
            out.setdefault(str(col), None)
    for col in section.get("exclude") or {}:
        out.setdefault(str(col), None)
    return list(out)


def _read(name: str) -> Preset:
    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    tables: dict[str, dict[str, Any]] = {}
    unsupported: dict[str, str] = {}
    for table, section in (raw.get("tables") or {}).items():
        if table not in TABLES:  # a table this version of the kit does not have yet
            unsupported[table] = f"needs the {table} table, which this version of engage-kit does not have"
            continue
        tables[table] = _known_columns(table, dict(section))
    return Preset(
        name=name,
        title=str(raw["title"]),
        tool=str(raw["tool"]),
        export=str(raw["export"]).strip(),
        tables=tables,
        notes=str(raw.get("notes") or "").strip(),
        unsupported=unsupported,
    )


def _known_columns(table: str, section: dict[str, Any]) -> dict[str, Any]:
    """The section without canonical columns the schema does not have (a preset may map a
    column, such as a survey's comment, that an older schema lacks)."""
    if table == "customers":  # customers keep any attribute column
        return section
    names = set(TABLES[table].names)
    for key in (*_COLUMN_KEYS, "values"):
        if isinstance(section.get(key), dict):
            section[key] = {c: v for c, v in section[key].items() if c in names}
    return section


@functools.cache
def presets() -> dict[str, Preset]:
    """Every preset shipped with the kit, by name (sorted)."""
    names = sorted(
        p.name[: -len(".yaml")] for p in resources.files(__name__).iterdir() if p.name.endswith(".yaml")
    )
    return {n: _read(n) for n in names}


def get(name: str) -> Preset:
    """The preset ``name``; a :class:`ConfigError` naming the closest one when there is none."""
    found = presets()
    if name not in found:
        raise ConfigError(
            f"'{name}' is not a preset{did_you_mean(name, found)}; presets: {', '.join(found)} "
            "(engage-kit presets lists them with their columns)"
        )
    return found[name]


def merge(table: str, spec: dict[str, Any], where: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A table's config with its preset's settings under the user's own.

    Parameters
    ----------
    table : str
        The canonical table (``transactions``, ``touches``...).
    spec : dict
        The table's settings as the user wrote them, with ``preset``.
    where : str
        How messages name the table (``tables.transactions``).

    Returns
    -------
    (dict, tuple of str)
        The merged settings (without ``preset``) and the canonical columns mapped by the
        preset that the export may lack (left out then, without an error).
    """
    name = spec.get("preset")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}.preset: expected the name of a preset, e.g. shopify_orders; presets: {', '.join(presets())}")
    preset = get(name.strip())
    if table not in preset.tables:
        why = f" ({preset.unsupported[table]})" if table in preset.unsupported else ""
        raise ConfigError(
            f"{where}.preset: {preset.name} ({preset.title}) has no settings for the {table} table{why}; "
            f"it fills: {', '.join(preset.tables)}"
        )
    base = copy.deepcopy(preset.tables[table])
    optional = set(base.pop("optional", ()))
    asked = base.pop("user_columns", None) or {}
    base.pop("export", None)
    user = {k: v for k, v in spec.items() if k != "preset"}
    given = {str(c) for key in _COLUMN_KEYS if isinstance(user.get(key), dict) for c in user[key]}
    unset = [c for c in asked if c not in given]
    if unset:
        raise ConfigError("; ".join(
            f"{where}.columns.{c}: preset {preset.name} ({preset.title}) cannot know which column is {c}: "
            f"set it yourself, {asked[c]}" for c in unset))
    # a column the user sets in one of columns/derive/constants leaves the preset's other ways
    for key in _COLUMN_KEYS:
        mine = user.get(key)
        if not isinstance(mine, dict):
            continue
        for other in _COLUMN_KEYS:
            if other != key and isinstance(base.get(other), dict):
                for canon in mine:
                    base[other].pop(str(canon), None)
        optional -= {str(c) for c in mine}
    out = base
    for key, value in user.items():
        if key in _MERGED and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out, tuple(sorted(c for c in optional if c in (out.get("columns") or {})))


def suggest(columns: list[str], table: str) -> Preset | None:
    """The preset whose expected headers ``columns`` match best for ``table`` (at least
    :data:`SUGGEST_SHARE` of them and three), or None."""
    have = {_name_key(c) for c in columns}
    best: tuple[float, int, Preset] | None = None
    for preset in presets().values():
        if table not in preset.tables:
            continue
        want = {_name_key(c) for c in preset.expects(table)}
        hits = len(want & have)
        share = hits / len(want) if want else 0.0
        if hits >= 3 and share >= SUGGEST_SHARE and (best is None or (share, hits) > best[:2]):
            best = (share, hits, preset)
    return best[2] if best else None


def suggestion(columns: list[str], table: str) -> str | None:
    """``this looks like a Shopify orders export: add `preset: shopify_orders` ...``, or None."""
    preset = suggest(columns, table)
    if preset is None:
        return None
    return (
        f"this looks like a {preset.title}: add `preset: {preset.name}` to tables.{table} "
        "(engage-kit presets shows what it maps)"
    )


def describe() -> str:
    """Every preset with the tables it fills and the columns each expects (``engage-kit presets``)."""
    lines = []
    for preset in presets().values():
        lines.append(f"{preset.name}: {preset.title}")
        lines.append(f"  export: {preset.export}")
        for table in preset.tables:
            lines.append(f"  {table}: expects {', '.join(preset.expects(table))}")
            if preset.tables[table].get("export"):
                lines.append(f"    export: {' '.join(str(preset.tables[table]['export']).split())}")
            for canon, what in (preset.tables[table].get("user_columns") or {}).items():
                lines.append(f"    you set {canon}: {what}")
            opt = preset.optional_columns(table)
            if opt:
                lines.append("    uses when present: " + ", ".join(f"{v} ({k})" for k, v in opt.items()))
        for table, why in preset.unsupported.items():
            lines.append(f"  {table}: not filled: {why}")
        if preset.notes:
            lines.append(f"  note: {preset.notes}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
