"""The report runner, the HTML template and the index page."""

from .runner import NotebookResult, run_report

__all__ = ["NotebookResult", "run_report"]
