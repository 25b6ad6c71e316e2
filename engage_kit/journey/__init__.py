"""Customer journey: where, on the way from first contact to purchase, do people drop off?

Every person (a customer id, or a lead who has not become a customer) gets the date of each
stage: first contact (lead), engaged, first purchase, repeat purchase, advocate
(:mod:`.people`). On top of that table, all counted in the engine:

- ``funnel``: people at each stage, conversion from the stage before (Wilson intervals),
  where people stop; by lead source and acquisition channel with Holm-corrected tests;
- ``timing``: days to a first and to a repeat purchase, Kaplan–Meier with censoring at
  as_of (the estimator of :mod:`engage_kit.cohorts.survival`);
- ``paths``: channel paths before the first purchase, first-touch, last-touch and
  first-order Markov removal-effect credit;
- ``leads``: lead-to-customer conversion by source, form fills per period;
- ``analysis``: :func:`analyse` → :class:`JourneyAnalysis` and results.json;
- ``story``: every sentence of the report; ``charts``: every figure; ``demo``: the demo's
  leads and touches.

Typical use::

    from engage_kit import journey
    a = journey.analyse(ds)
    journey.story.findings(a)
"""

from __future__ import annotations

from . import charts, story
from .analysis import JourneyAnalysis, analyse, results_dict
from .funnel import funnel_table, group_funnels, holm
from .paths import conversion_probability, markov_attribution, transitions_from_sequences
from .people import STAGES, people

__all__ = [
    "charts", "story", "JourneyAnalysis", "analyse", "results_dict", "funnel_table", "group_funnels", "holm",
    "conversion_probability", "markov_attribution", "transitions_from_sequences", "STAGES", "people",
]
