"""The kit's version (one place: the package, results.json meta and the dataset cache read it)."""

__version__ = "0.1.0"
