"""engage-kit: customer-engagement analytics on your own data, in Jupyter notebooks.

Start with :func:`open_dataset`::

    import engage_kit as ek
    ds = ek.open_dataset("demo")          # or a config.yaml, or a report snapshot
    ds.to_pandas("transactions").head()
"""

from __future__ import annotations

from ._version import __version__
from .opening import open_dataset, resolve_config

__all__ = ["__version__", "open_dataset", "resolve_config"]
