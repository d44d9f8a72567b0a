"""Scoring a trained model: class scores, predicted classes, accuracy and accuracy curves.

A *classifier* here is any callable ``predict(x: [n, h, w, c]) -> [n]`` that returns class ids;
:func:`classes_from_model` turns a Keras model into one. :func:`class_scores` is what every model
of the book answers: capsule lengths for a CapsNet (its first output), logits or probabilities for
a CNN; in both, higher means more present. Prediction is Keras' ``model.predict`` everywhere.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from capsnet_book.transforms import check_images

__all__ = ["accuracy", "accuracy_curve", "class_scores", "classes_from_model"]

Classifier = Callable[[np.ndarray], np.ndarray]


def class_scores(model: Any, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class scores ``[n, n_classes]`` of ``images [n, h, w, c]``, by ``model.predict``.

    A model with several outputs (a CapsNet returns ``(lengths, reconstructions)``) gives its
    first one.
    """
    outputs = model.predict(check_images(images), batch_size=batch_size, verbose=0)
    return np.asarray(outputs[0] if isinstance(outputs, (tuple, list)) else outputs)


def classes_from_model(model: Any, batch_size: int = 500) -> Classifier:
    """Wrap a Keras model (class scores out) as ``predict(x) -> class ids [n]``."""

    def predict(x: np.ndarray) -> np.ndarray:
        return np.argmax(class_scores(model, x, batch_size), axis=-1)

    return predict


def accuracy(predict: Classifier, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``x: [n, h, w, c]`` whose predicted class equals ``y: [n]``.

    Raises:
        ValueError: ``x`` and ``y`` differ in length.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} images but {len(y)} labels.")
    return float(np.mean(predict(x) == np.asarray(y)))


def accuracy_curve(
    predict: Classifier, x: np.ndarray, y: np.ndarray,
    transform: Callable[[np.ndarray, Any], np.ndarray], values: Iterable[Any],
) -> np.ndarray:
    """Accuracy of ``predict`` on ``transform(x, v)`` for each ``v`` in ``values``.

    ``x: [n, h, w, c]``, ``y: [n]`` ``-> [len(values)]``. Example: accuracy against rotation is
    ``accuracy_curve(predict, x, y, transforms.rotate, range(0, 181, 15))``.
    """
    return np.array([accuracy(predict, transform(x, v), y) for v in values], dtype=np.float64)
