"""Two short CapsNet trainings with the same seed end with identical weights.

The chapters promise that ``SEED`` (``BOOK_SEED``) reproduces a run: the weights' initial
values, the augmentation shifts, the batch order and the updates must all follow from it.
"""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()
import keras  # noqa: E402

from capsnet_book.datasets import ShiftedDigits
from capsnet_book.models import build_capsnet  # noqa: E402

pytestmark = pytest.mark.slow


def _digits(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(123)
    return rng.random((n, 28, 28, 1)).astype("float32"), rng.integers(0, 10, n)


def train(seed: int) -> list[np.ndarray]:
    """Two epochs of 2 batches of 32, shifts of up to 2 pixels, Adam: a few seconds on a CPU."""
    keras.utils.set_random_seed(seed)
    model = build_capsnet("quick", routing_iterations=2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    images, labels = _digits()
    model.fit(ShiftedDigits(images, labels, batch_size=32, max_shift=2, seed=seed), epochs=2, verbose=0)
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def test_same_seed_gives_identical_weights():
    first, second = train(7), train(7)
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_another_seed_gives_other_weights():
    """The check above would pass vacuously if training ignored its data; it does not."""
    first, other = train(7), train(8)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))
