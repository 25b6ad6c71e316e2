"""Opening a dataset: from a config file, a built-in dataset name or a report snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def resolve_config(config: Any):
    """A :class:`~engage_kit.config.Config` from a Config, a YAML path or a built-in name."""
    from .config import Config, load_config
    from .datasets import BUILTIN, builtin_config

    if isinstance(config, Config):
        return config
    text = str(config)
    if text in BUILTIN:
        return builtin_config(text)
    return load_config(Path(text))


def open_dataset(config: Any = "demo", *, as_of: Any = None, progress=None):
    """Load and validate a dataset.

    Parameters
    ----------
    config : str, Path or Config
        A config YAML path, a built-in dataset name (``demo``, ``cdnow``,
        ``cdnow-sample``), or a snapshot folder written by ``engage-kit report``.
    as_of : date, optional
        Analysis date (inclusive); overrides the config's.
    """
    from .loaders import is_snapshot, load_dataset, open_snapshot

    if not hasattr(config, "tables") and is_snapshot(str(config)):
        return open_snapshot(config)
    return load_dataset(resolve_config(config), as_of=as_of, progress=progress)
