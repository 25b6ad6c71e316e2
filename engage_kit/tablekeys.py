"""Checks of the value-level table settings and of ``identity`` (see :mod:`engage_kit.mapping`
and :mod:`engage_kit.identity` for what they do); used by :mod:`engage_kit.config`."""

from __future__ import annotations

from typing import Any

IDENTITY_RULES = {"lowercase_trim": "lower case, surrounding spaces removed", "trim": "surrounding spaces removed"}


def _text_key(value: Any) -> str:
    return "" if value is None else str(value).strip().lower()


def _listed(value: Any) -> list[str] | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list) and all(v is None or isinstance(v, (str, int, float, bool)) for v in value):
        return ["" if v is None else str(v) for v in value]
    return None


def parse_table_maps(name: str, spec: dict[str, Any], valid: tuple[str, ...], errors: list[str]) -> dict[str, Any]:
    """``constants``, ``values``, ``exclude`` and ``attributes`` of one table, checked.

    Parameters
    ----------
    name : str
        The canonical table.
    spec : dict
        The table's settings.
    valid : tuple of str
        The table's canonical columns (empty: any name, as for customers' attributes).
    errors : list of str
        Problems are appended here.
    """
    from .errors import did_you_mean

    out: dict[str, Any] = {"constants": {}, "values": {}, "exclude": {}, "attributes": None}
    where = f"tables.{name}"

    def column_ok(key: str, canon: Any) -> bool:
        if valid and str(canon) not in valid:
            errors.append(f"{where}.{key}.{canon}: '{canon}' is not a column of {name}{did_you_mean(str(canon), valid)}")
            return False
        return True

    constants = spec.get("constants")
    if constants is not None:
        if not isinstance(constants, dict):
            errors.append(f"{where}.constants: expected a mapping such as {{channel: email}}")
        else:
            for canon, value in constants.items():
                if not column_ok("constants", canon):
                    continue
                if value is None or isinstance(value, (dict, list)):
                    errors.append(f"{where}.constants.{canon}: expected one value for every row, such as email, got {value!r}")
                    continue
                out["constants"][str(canon)] = value
            both = sorted(set(out["constants"]) & (set(map(str, spec.get("columns") or {})) | set(map(str, spec.get("derive") or {}))))
            if both:
                errors.append(f"{where}: {', '.join(both)} both given in constants and in columns or derive; keep one")
    values = spec.get("values")
    if values is not None:
        if not isinstance(values, dict):
            errors.append(f"{where}.values: expected a mapping such as {{event: {{opened: open, clicked: click}}}}")
        else:
            for canon, table in values.items():
                if not column_ok("values", canon):
                    continue
                if not isinstance(table, dict) or not table:
                    errors.append(f"{where}.values.{canon}: expected a mapping of the export's values to the kit's, such as {{opened: open}}")
                    continue
                out["values"][str(canon)] = {_text_key(k): (None if v is None else str(v)) for k, v in table.items()}
    exclude = spec.get("exclude")
    if exclude is not None:
        if not isinstance(exclude, dict):
            errors.append(f"{where}.exclude: expected a mapping of a column to the values whose rows are left out, such as {{Status: [failed]}}")
        else:
            for col, vals in exclude.items():
                listed = _listed(vals)
                if listed is None:
                    errors.append(f"{where}.exclude.{col}: expected a list of values, such as [failed, \"\"], got {vals!r}")
                    continue
                out["exclude"][str(col)] = [_text_key(v) for v in listed]
    attributes = spec.get("attributes")
    if attributes is not None:
        if name != "customers":
            errors.append(f"{where}.attributes: only the customers table has attribute columns")
        elif not isinstance(attributes, list) or not all(isinstance(a, str) for a in attributes):
            errors.append(f"{where}.attributes: expected a list of column names, such as [Plan, Country], or [] for none")
        else:
            out["attributes"] = list(attributes)
    return out


def parse_return_rules(name: str, r: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """``returns.cancel_when`` and ``returns.refund_column``, checked (the other returns keys are
    checked in :mod:`engage_kit.config`)."""
    out: dict[str, Any] = {}
    where = f"tables.{name}.returns"
    cancel = r.get("cancel_when")
    if cancel is not None:
        ok = isinstance(cancel, dict) and cancel
        parsed = {str(c): _listed(v) for c, v in cancel.items()} if ok else {}
        if not ok or any(v is None for v in parsed.values()):
            errors.append(
                f"{where}.cancel_when: expected a column and the values that mark a cancelled order, such as "
                f"{{\"Financial Status\": [refunded, voided]}}, got {cancel!r}"
            )
        else:
            out["cancel_when"] = {c: [_text_key(v) for v in vals] for c, vals in parsed.items()}
    refund = r.get("refund_column")
    if refund is not None:
        if not isinstance(refund, str) or not refund.strip():
            errors.append(f"{where}.refund_column: expected the name of the column that gives a refunded amount, got {refund!r}")
        else:
            out["refund_column"] = refund.strip()
    return out


def parse_identity(raw: Any, errors: list[str]) -> dict[str, str]:
    """The ``identity`` setting, checked; problems are appended to ``errors``."""
    from .errors import did_you_mean

    if raw is None:
        return {}
    if not isinstance(raw, dict) or set(map(str, raw)) - {"email"}:
        extra = sorted(set(map(str, raw)) - {"email"}) if isinstance(raw, dict) else []
        hint = f" (unknown key{'s' if len(extra) > 1 else ''} {', '.join(extra)}{did_you_mean(extra[0], ['email'])})" if extra else ""
        errors.append(f"identity: expected {{email: lowercase_trim}}{hint}")
        return {}
    rule = str(raw.get("email", "")).strip().lower()
    if rule not in IDENTITY_RULES:
        errors.append(
            f"identity.email: '{raw.get('email')}' is not one of {', '.join(IDENTITY_RULES)}{did_you_mean(rule, IDENTITY_RULES)}"
        )
        return {}
    return {"email": rule}
