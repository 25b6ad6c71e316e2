"""The customers of a study: training, test and scoring sets, kept in the engine, and their bounded samples.

Non-contractual mode (:func:`out_of_time_sets`): features and labels at the training
``cutoff`` and at the out-of-time ``test_cutoff``, and features at ``as_of`` for the
customers to score. Labelled mode (:func:`labelled_sets`): a stratified split of the
customers with a known ``churned`` value, drawn in the engine; the customers not churned
are scored. Only the samples of :func:`draw_samples` leave the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from ..activity import default_active_days
from ..engine import backend_of, cache
from ..errors import ModelError
from .features import (
    FEATURE_LABELS,
    _check_history,
    _check_int,
    _label_values,
    _nobody_active,
    _nobody_to_score,
    _table,
    build_features,
    churn_table,
    resolve_cutoffs,
)
from .models import _check_class_counts
from .sampling import _fetch, _first_by_key, allocate, class_counts, stratified_sample


@dataclass
class StudySets:
    """The tables of one study in the engine.

    ``train_all`` and ``test_all`` hold customer_id, the features and ``churned`` (0/1) of
    every customer of each set, ``score_all`` the features of the customers to score;
    ``train_counts`` and ``test_counts`` count each set by label ({0: stayed, 1: churned});
    ``kept`` are the tables cached in the engine, released once the customers are scored.
    """

    con: Any
    purchases: ibis.Table
    cutoff: pd.Timestamp | None
    test_cutoff: pd.Timestamp | None
    inactivity_days: int | None
    train_all: ibis.Table
    test_all: ibis.Table
    score_all: ibis.Table
    train_counts: dict[int, int]
    test_counts: dict[int, int]
    n_score: int
    kept: list[ibis.Table]
    notes: list[str] = field(default_factory=list)


def out_of_time_sets(
    tables: dict[str, Any],
    *,
    as_of: pd.Timestamp,
    cutoff: Any,
    test_cutoff: Any,
    inactivity_days: int | None,
    feature_window_days: int,
    trend_days: int,
) -> StudySets:
    """Training set at ``cutoff``, test set at ``test_cutoff``, customers to score at ``as_of``.

    ``inactivity_days`` None: the kit's activity window chosen from the purchases
    (:func:`engage_kit.activity.default_active_days`); the cutoffs are checked by
    :func:`~engage_kit.churn.features.resolve_cutoffs`. Each feature table is computed once
    and cached in the engine for the counts, the samples and the batches.
    """
    extra = {k: v for k, v in tables.items() if k != "purchases"}
    purchases = _table(tables["purchases"])
    con = backend_of(purchases)
    first = purchases.timestamp.min().execute()
    if inactivity_days is None:  # the kit's one activity window, chosen from the data
        inactivity_days = default_active_days(purchases, as_of=as_of)
    if cutoff is None and test_cutoff is None:
        _check_history(first, as_of, _check_int("inactivity_days", inactivity_days))
    cutoff, test_cutoff = resolve_cutoffs(
        as_of, cutoff=cutoff, test_cutoff=test_cutoff, inactivity_days=inactivity_days, data_start=first
    )
    kw = dict(inactivity_days=inactivity_days, feature_window_days=feature_window_days, as_of=as_of,
              trend_days=trend_days, **extra)
    # each feature table is computed once and kept in the engine for the counts, samples and batches
    train_all = cache(churn_table(purchases, cutoff=cutoff, **kw))
    test_all = cache(churn_table(purchases, cutoff=test_cutoff, **kw))
    score_all = cache(build_features(purchases, cutoff=as_of, feature_window_days=feature_window_days,
                                     trend_days=trend_days, **extra))
    train_counts, test_counts = class_counts(train_all), class_counts(test_all)
    for counts, day in ((train_counts, cutoff), (test_counts, test_cutoff)):
        if not sum(counts.values()):
            raise _nobody_active(feature_window_days, day)
    n_score = int(score_all.count().execute())
    if not n_score:
        raise _nobody_to_score(feature_window_days, as_of)
    return StudySets(con=con, purchases=purchases, cutoff=cutoff, test_cutoff=test_cutoff,
                     inactivity_days=inactivity_days, train_all=train_all, test_all=test_all, score_all=score_all,
                     train_counts=train_counts, test_counts=test_counts, n_score=n_score,
                     kept=[train_all, test_all, score_all])


def labelled_sets(
    tables: dict[str, Any],
    *,
    as_of: pd.Timestamp,
    feature_window_days: int,
    trend_days: int,
    test_size: float,
    random_state: int,
) -> StudySets:
    """A stratified split (``test_size``) of the customers with a known ``churned`` value.

    Drawn in the engine (each class ordered by :func:`~engage_kit.engine.sample_order`);
    the customers not churned are the ones to score. Without transactions the
    transactional features are left out.
    """
    extra = {k: v for k, v in tables.items() if k != "purchases"}
    notes: list[str] = []
    c = _table(tables["customers"])
    if "purchases" in tables:
        purchases = _table(tables["purchases"])
    else:  # attributes only: an empty purchase history keeps one code path
        purchases = ibis.memtable(pd.DataFrame({
            "customer_id": pd.Series([], dtype="string"),
            "timestamp": pd.Series([], dtype="datetime64[us]"),
            "amount": pd.Series([], dtype="float64"),
        }))
    con = backend_of(c)
    feats = build_features(
        purchases, cutoff=as_of, feature_window_days=feature_window_days, trend_days=trend_days,
        population=c, **{k: v for k, v in extra.items() if k != "customers"}, customers=c,
    )
    lab = c.select("customer_id", _label=_label_values(c.churned))
    j = feats.join(lab, feats.customer_id == lab.customer_id)
    full = j.select(feats, churned=j._label)
    if "purchases" not in tables:  # transactional features are empty or zero: leave them out
        full = full.drop(*[col for col in full.columns if col in FEATURE_LABELS and col != "account_age_days"])
    n_full = int(full.count().execute())
    known_all = cache(full.filter(full.churned.notnull()))
    counts = class_counts(known_all)
    n_known = sum(counts.values())
    if n_full - n_known:
        notes.append(f"{n_full - n_known:,} customers with no churned value are left out of training and testing")
    _check_class_counts(counts, "table customers, column churned")
    if n_known < 20:  # valid data, too few of them: a ModelError, so reports skip the analysis
        raise ModelError(f"table customers: only {n_known} customers have a churned value; at least 20 are needed")
    if min(counts.values()) < 2:
        raise ModelError("table customers, column churned: each of churned and stayed needs at least two customers "
                         "to split them into training and test sets")
    n_test = math.ceil(float(test_size) * n_known)
    test_counts = allocate(counts, n_test)
    test_counts = {k: min(max(v, 1), counts[k] - 1) for k, v in test_counts.items()}
    train_counts = {k: counts[k] - test_counts[k] for k in counts}
    test_all = _first_by_key(known_all, test_counts, random_state=random_state, label="churned")
    train_all = _first_by_key(known_all, test_counts, random_state=random_state, label="churned", invert=True)
    notes.append(
        "labelled snapshot: no time order exists, so the test set is a stratified random split of the same "
        "snapshot; this is a weaker test than an out-of-time one (the scores describe who resembles past "
        "churners, not who will leave next)"
    )
    return StudySets(con=con, purchases=purchases, cutoff=None, test_cutoff=None, inactivity_days=None,
                     train_all=train_all, test_all=test_all, score_all=known_all.filter(known_all.churned == 0),
                     train_counts=train_counts, test_counts=test_counts, n_score=counts[0], kept=[known_all],
                     notes=notes)


def draw_samples(sets: StudySets, cap: int | None, *, random_state: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and test frames: each set, or its stratified sample of at most ``cap`` customers.

    Checks that the training set holds both classes; a note is added to ``sets.notes``
    for each set that is sampled.
    """
    where = f"training set (cutoff {sets.cutoff.date() if sets.cutoff is not None else 'split'})"
    _check_class_counts(sets.train_counts, where)
    train = _fetch(stratified_sample(sets.train_all, cap, random_state=random_state, counts=sets.train_counts))
    test = _fetch(stratified_sample(sets.test_all, cap, random_state=random_state, counts=sets.test_counts))
    for frame in (train, test):
        frame["churned"] = frame["churned"].astype(int)
    n_train, n_test_all = sum(sets.train_counts.values()), sum(sets.test_counts.values())
    if len(train) < n_train:
        sets.notes.append(f"models are fitted on a stratified sample of {len(train):,} of {n_train:,} training customers")
    if len(test) < n_test_all:
        sets.notes.append(f"models are tested on a stratified sample of {len(test):,} of {n_test_all:,} test customers")
    return train, test
