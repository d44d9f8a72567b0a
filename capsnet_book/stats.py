"""Comparing two models over seeds and test digits, with confidence intervals.

A difference between two models trained with the same seeds and scored on the same test digits
is a *paired* difference. Two sources of chance move it: which seeds were drawn (training
noise) and which digits happen to be in the test set (test sampling). :func:`paired_bootstrap`
resamples both, seeds and digits, and gives a percentile interval of the mean difference in
accuracy. "The ranges over seeds do not overlap" is not a test; an interval is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PairedDifference", "paired_bootstrap"]


@dataclass(frozen=True)
class PairedDifference:
    """Mean accuracy of ``a`` minus that of ``b`` (in [−1, 1]) and its confidence interval."""

    mean: float
    low: float
    high: float
    level: float
    n_seeds: int
    n_digits: int

    def excludes_zero(self) -> bool:
        """Whether the interval lies entirely on one side of zero."""
        return self.low > 0 or self.high < 0

    def __str__(self) -> str:
        return (f"{100 * self.mean:+.1f} points [{100 * self.low:+.1f}, {100 * self.high:+.1f}] "
                f"({100 * self.level:.0f}% CI, {self.n_seeds} seeds x {self.n_digits} digits)")


def paired_bootstrap(correct_a: np.ndarray, correct_b: np.ndarray, level: float = 0.95,
                     n_boot: int = 2000, seed: int = 0) -> PairedDifference:
    """Bootstrap interval of the difference in accuracy between two models, paired.

    Each bootstrap round draws seeds with replacement and, independently, test digits with
    replacement, the same digits for both models, and takes the mean difference.

    Args:
        correct_a, correct_b: ``[n_seeds, n_digits]``, 1 where the model of that seed got the
            digit right (booleans or 0/1); row k of both comes from the same seed.
        level: the confidence level (0.95: a 95% interval).
        n_boot: bootstrap rounds.
        seed: for the resampling.

    Returns:
        A :class:`PairedDifference`.

    Raises:
        ValueError: the arrays differ in shape or are not 2-D, or ``level`` is not in (0, 1).

    >>> a = np.ones((5, 200)); b = np.zeros((5, 200))
    >>> str(paired_bootstrap(a, b))
    '+100.0 points [+100.0, +100.0] (95% CI, 5 seeds x 200 digits)'
    """
    a, b = np.asarray(correct_a, dtype=np.float64), np.asarray(correct_b, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"expected two arrays of the same shape [n_seeds, n_digits], got {a.shape} and {b.shape}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (0.95 for a 95% interval), got {level}.")
    difference = a - b
    n_seeds, n_digits = difference.shape
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for k in range(n_boot):
        seeds = rng.integers(0, n_seeds, n_seeds)
        digits = rng.integers(0, n_digits, n_digits)
        means[k] = difference[np.ix_(seeds, digits)].mean()
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return PairedDifference(float(difference.mean()), float(low), float(high), level, n_seeds, n_digits)
