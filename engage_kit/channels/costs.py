"""Spend per group: read, checked against the known groups, and mapped onto a table's groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, did_you_mean


def parse_costs(costs: Any) -> dict[Any, float] | None:
    """Spend per group as a dict; a JSON/YAML text such as '{"email": 5000}' is read too."""
    if costs is None or (isinstance(costs, str) and not costs.strip()):
        return None
    if isinstance(costs, str):
        import yaml

        try:
            costs = yaml.safe_load(costs)
        except yaml.YAMLError:
            raise ParameterError(f"costs must be a mapping of group to spend, e.g. {{'email': 5000}}; got {costs!r}") from None
    _check_costs(costs)
    return {k: float(v) for k, v in costs.items()}


def _check_costs(costs: Any) -> None:
    if not isinstance(costs, Mapping):
        raise ParameterError(f"costs must be a mapping of group to spend, e.g. {{'email': 5000}}; got {costs!r}")
    bad = {k: v for k, v in costs.items()
           if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0}
    if bad:
        raise ParameterError(f"costs must be non-negative numbers; got {bad!r}")


def check_costs(costs: Mapping[Any, float] | None, *known: Iterable[Any]) -> list[str]:
    """Validate ``costs`` and return its keys that match no known group (each set in ``known``)."""
    costs = parse_costs(costs)
    if not costs:
        return []
    names = {str(x) for group in known for x in group}
    unknown = [str(k) for k in costs if str(k) not in names]
    if unknown and len(unknown) == len(costs):
        raise ParameterError(
            f"costs: none of {', '.join(unknown)} is a compared group or an acquisition channel"
            f"{did_you_mean(unknown[0], names)}; known: {', '.join(sorted(names))}"
        )
    return unknown


def spend_for(groups: pd.Series, costs: Mapping[Any, float]) -> pd.Series:
    """The spend of each group in ``groups`` (looked up as given, then as text; NaN when absent)."""
    return groups.map(lambda x: costs.get(x, costs.get(str(x), np.nan))).astype(float)
