"""How this suite aggregates scores over seeds: rliable's interquartile mean (IQM) with a 95% stratified-bootstrap
confidence interval (Agarwal et al. 2021), as the papers of this family report them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats
from rliable import metrics

CONFIDENCE = 0.95
BOOTSTRAP_SAMPLES = 10_000


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its confidence interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.2f} [{self.low:.2f}, {self.high:.2f}]"


def interquartile_mean(scores: np.ndarray) -> float:
    """The mean of the middle 50% of all scores (the 25% trimmed mean), rliable's IQM."""
    return float(metrics.aggregate_iqm(np.asarray(scores, dtype=float)))


def iqm_with_interval(scores: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> Estimate:
    """IQM of `scores` (one per run, or runs x tasks) with a 95% percentile interval from the stratified
    bootstrap: runs are resampled with replacement within each task, as rliable's StratifiedBootstrap does.

    rliable's own bootstrap (rliable.library) needs arch < 8, which does not import beside pandas 3 (and arch 8
    rejects the arguments rliable passes), so the resampling is written out here around rliable's IQM.
    """
    scores = np.asarray(scores, dtype=float).reshape(len(scores), -1)
    runs, tasks = scores.shape
    rows = np.random.default_rng(seed).integers(runs, size=(samples, runs, tasks))
    resampled = scores[rows, np.arange(tasks)].reshape(samples, -1)
    # rliable's IQM is scipy's 25% trimmed mean over all scores; taken here of every resample at once
    statistics = scipy.stats.trim_mean(resampled, proportiontocut=0.25, axis=1)
    tail = 100 * (1 - CONFIDENCE) / 2
    low, high = np.percentile(statistics, [tail, 100 - tail])
    return Estimate(interquartile_mean(scores), float(low), float(high))
