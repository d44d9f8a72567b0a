"""The Keras datasets the chapters train on: batches drawn anew each epoch, in a seeded order.

Every dataset here is a ``keras.utils.PyDataset`` whose order (and augmentation) comes from one
``numpy.random.default_rng(seed)``, so two models given datasets with the same seed see exactly
the same batches, which makes a comparison between them paired. The last partial batch is dropped.

* :class:`ShiftedDigits`: digits shifted by up to ``max_shift`` pixels anew each epoch (the
  paper's augmentation, and chapter 7's random placement on a canvas), one-hot labels;
* :class:`AugmentedDigits`: digits passed through any ``augment(images, epoch)`` each epoch
  (chapter 3's random rotations), integer labels;
* :class:`OverlapPairs`: chapter 8's overlapping digits with the targets of the two-digit
  objective.

:func:`random_shift` is the shift itself and :func:`split_validation` holds out validation digits.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np

from capsnet_book.multimnist import two_hot
from capsnet_book.transforms import translate

__all__ = ["AugmentedDigits", "OverlapPairs", "ShiftedDigits", "random_shift", "split_validation"]


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift each image by its own random whole number of pixels in ``[-max_shift, max_shift]``
    along each axis, filling with zeros (the paper's augmentation uses up to 2 pixels).

    Shape: ``[n, H, W, C] -> [n, H, W, C]``.

    Raises:
        ValueError: ``images`` is not of rank 4 or ``max_shift`` is negative.
    """
    if images.ndim != 4:
        raise ValueError(f"random_shift: expected images of rank 4 [n, H, W, C], got shape {images.shape}.")
    if max_shift < 0:
        raise ValueError(f"random_shift: max_shift must be >= 0, got {max_shift}.")
    offsets = rng.integers(0, 2 * max_shift + 1, size=(2, len(images)))
    dy, dx = max_shift - offsets  # each in [-max_shift, max_shift]
    return translate(images, dy, dx)


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """``(x_fit, y_fit, x_val, y_val)``: a random ``fraction`` of the digits held out.

    The split depends on ``seed`` only (``numpy.random.default_rng(seed)``).

    Raises:
        ValueError: ``fraction`` not in (0, 1), or ``x`` and ``y`` differ in length.

    >>> parts = split_validation(np.zeros((10, 2)), np.arange(10), 0.2, seed=0)
    >>> [len(p) for p in parts]
    [8, 8, 2, 2]
    """
    if not 0 < fraction < 1:
        raise ValueError(f"split_validation: fraction must be between 0 and 1, got {fraction}.")
    if len(x) != len(y):
        raise ValueError(f"split_validation: {len(x)} images but {len(y)} labels.")
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(round(fraction * len(x))))
    val, fit = order[:n_val], order[n_val:]
    return x[fit], y[fit], x[val], y[val]


def _check_batches(name: str, n: int, batch_size: int) -> None:
    if n < batch_size:
        raise ValueError(f"{name}: {n} examples make no batch of {batch_size}.")


class ShiftedDigits(keras.utils.PyDataset):
    """``(images, one-hot labels)`` batches for ``fit``, every digit shifted anew each epoch.

    The shifts (up to ``max_shift`` pixels, :func:`random_shift`) and the order of the digits
    come from one generator seeded with ``seed``. ``max_shift=0`` gives the digits unshifted.

    Shape: ``images [n, H, W, 1], labels [n] (integers) -> batches of
    ([batch, H, W, 1], [batch, n_classes])``.

    Raises:
        ValueError: the images and labels differ in length, or there is not one full batch.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, max_shift: int,
                 seed: int, n_classes: int = 10) -> None:
        super().__init__()
        if len(images) != len(labels):
            raise ValueError(f"ShiftedDigits: {len(images)} images but {len(labels)} labels.")
        _check_batches("ShiftedDigits", len(images), batch_size)
        self.images, self.batch_size, self.max_shift = images, int(batch_size), int(max_shift)
        self.onehot = np.eye(n_classes, dtype="float32")[labels]
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return len(self.images) // self.batch_size

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        batch = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.shifted[batch], self.onehot[batch]

    def on_epoch_end(self) -> None:
        """Draw the next epoch's shifts and order."""
        self.shifted = random_shift(self.images, self.max_shift, self.rng)
        self.order = self.rng.permutation(len(self.images))


class AugmentedDigits(keras.utils.PyDataset):
    """``(images, integer labels)`` batches, the images passed through ``augment`` each epoch.

    Epoch ``e`` (from 0) trains on ``augment(images, e)`` (for example fresh random rotations seeded
    by ``e``), or on the images themselves when ``augment`` is ``None``, in an order drawn from
    ``numpy.random.default_rng(seed)``. The time ``augment`` takes counts in the training time.

    Shape: ``images [n, H, W, C], labels [n] -> batches of ([batch, H, W, C], [batch])``.

    Raises:
        ValueError: the images and labels differ in length, there is not one full batch, or
            ``augment`` changes the number or shape of the images.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int,
                 augment: Callable[[np.ndarray, int], np.ndarray] | None = None) -> None:
        super().__init__()
        if len(images) != len(labels):
            raise ValueError(f"AugmentedDigits: {len(images)} images but {len(labels)} labels.")
        _check_batches("AugmentedDigits", len(images), batch_size)
        self.images, self.labels, self.batch_size = images, np.asarray(labels), int(batch_size)
        self.augment, self.epoch, self._begun, self._drawn_for = augment, 0, False, None
        self.rng = np.random.default_rng(seed)

    def _draw(self) -> None:
        """Augment for the current epoch and draw its order (once per epoch, when first needed)."""
        seen = self.images if self.augment is None else self.augment(self.images, self.epoch)
        if seen.shape != self.images.shape:
            raise ValueError(f"AugmentedDigits: augment turned images of shape {self.images.shape} "
                             f"into {seen.shape}; it must keep the shape.")
        self.seen, self._drawn_for = seen, self.epoch
        self.order = self.rng.permutation(len(self.images))

    def __len__(self) -> int:
        return len(self.images) // self.batch_size

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if self._drawn_for != self.epoch:
            self._draw()
        batch = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.seen[batch], self.labels[batch]

    def on_epoch_begin(self) -> None:
        """The next epoch (Keras reads a batch before the first epoch begins: that one is epoch 0)."""
        if self._begun:
            self.epoch += 1
        self._begun = True


class OverlapPairs(keras.utils.PyDataset):
    """Batches of overlapping digits, in a seeded order.

    ``overlay, first, second: [n, size, size, 1]``, ``label_pairs: [n, 2]`` (as
    :func:`capsnet_book.multimnist.make_pairs` returns them) ``-> (overlay [batch, ...], targets)``
    with the dict of targets :class:`~capsnet_book.overlapping.OverlapCapsNet` expects (``"both"``
    two-hot, ``"first_label"``/``"second_label"`` one-hot, ``"first"``/``"second"`` each digit
    alone), or with ``labels_only=True`` the two-hot labels ``[batch, 10]`` alone (for a two-label
    CNN). The order is drawn anew each epoch.

    Raises:
        ValueError: arrays of different lengths, or fewer examples than one batch.
    """

    def __init__(self, overlay: np.ndarray, first: np.ndarray, second: np.ndarray, label_pairs: np.ndarray,
                 batch_size: int, seed: int, labels_only: bool = False) -> None:
        super().__init__()
        lengths = {len(overlay), len(first), len(second), len(label_pairs)}
        if len(lengths) != 1:
            raise ValueError(f"OverlapPairs: overlay, first, second and label_pairs differ in length ({sorted(lengths)}).")
        _check_batches("OverlapPairs", len(overlay), batch_size)
        eye = np.eye(10, dtype="float32")
        pairs = np.asarray(label_pairs)
        self.inputs = overlay
        self.targets = {"both": two_hot(pairs), "first_label": eye[pairs[:, 0]], "second_label": eye[pairs[:, 1]],
                        "first": first, "second": second}
        self.batch_size = int(batch_size)
        self.labels_only = bool(labels_only)
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def __len__(self) -> int:
        return len(self.inputs) // self.batch_size

    def __getitem__(self, index: int) -> tuple[np.ndarray, Any]:
        batch = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        if self.labels_only:
            return self.inputs[batch], self.targets["both"][batch]
        return self.inputs[batch], {key: value[batch] for key, value in self.targets.items()}

    def on_epoch_end(self) -> None:
        """Draw the next epoch's order."""
        self.order = self.rng.permutation(len(self.inputs))
