"""One exception family, so the CLI can print a message and exit 2 without a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EngageKitError(Exception):
    """Base class of every error engage-kit raises on purpose (bad input, bad config)."""

    exit_code = 2


class ConfigError(EngageKitError):
    """The config file is missing, not YAML, or has unknown or invalid keys."""


class DataError(EngageKitError):
    """A table cannot be used: missing file, missing column, unparseable values..."""


class ParameterError(EngageKitError):
    """A notebook or function parameter has an invalid value."""


class ModelError(EngageKitError):
    """A model cannot be fitted on this data (degenerate input, no convergence)."""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """Return the valid name closest to ``name`` (for "did you mean" hints), or None."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    return lowered[match[0]] if match else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A `` (did you mean 'x'?)`` suffix, or an empty string when nothing is close."""
    best = closest(name, choices)
    return f" (did you mean '{best}'?)" if best else ""
