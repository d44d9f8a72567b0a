"""A CapsNet for two overlapping digits (the paper's MultiMNIST model), for chapter 8.

Sabour, Frosst and Hinton (2017, section 6) train the CapsNet on pairs of overlapping digits
(:mod:`capsnet_book.multimnist`) with two changes to chapter 6's objective:

* the margin loss gets *two-hot* targets: both digits' capsules should be long;
* the decoder reconstructs each digit on its own, from its own capsule (the other capsules
  masked out), and both reconstruction errors are added.

At test time the two longest capsules are the answer (:func:`capsnet_book.multimnist.both_right`),
and each of them can be decoded on its own: the network pulls the overlay apart.

:class:`OverlapCapsNet` is :class:`~capsnet_book.comparison_models.CanvasCapsNet` (chapter 6's
CapsNet on any square canvas) with that objective in its ``train_step``, so ``fit`` trains it;
:class:`OverlapPairs` feeds it batches.
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from capsnet_book.capsnet import CapsNetConfig
from capsnet_book.capsules import margin_loss
from capsnet_book.comparison_models import CanvasCapsNet, build_cnn
from capsnet_book.costs import inference_parameters
from capsnet_book.multimnist import two_hot

__all__ = ["BothRight", "OverlapCapsNet", "OverlapPairs", "both_right_tensor", "build_overlap_capsnet", "build_pair_cnn",
           "class_scores", "fit_on_pairs", "matching_dense_units"]


def both_right_tensor(lengths: Any, targets: Any) -> Any:
    """Per example, 1.0 when the two longest capsules are exactly the two digits present.

    ``lengths: [batch, 10]``, ``targets: [batch, 10]`` two-hot ``-> [batch]`` (a tensor version
    of :func:`capsnet_book.multimnist.both_right`, for metrics inside ``fit``).
    """
    top_two = ops.sum(ops.one_hot(ops.top_k(lengths, 2)[1], lengths.shape[-1]), axis=1)  # [batch, 10]
    return ops.cast(ops.all(ops.equal(top_two, ops.cast(targets, top_two.dtype)), axis=-1), "float32")


def _both_right_of_labels(two_hot_labels: Any, scores: Any) -> Any:
    """``both_right_tensor`` with Keras' metric argument order ``(y_true, y_pred)``."""
    return both_right_tensor(scores, two_hot_labels)


@keras.saving.register_keras_serializable(package="capsnet_book")
class BothRight(keras.metrics.MeanMetricWrapper):
    """The paper's MultiMNIST accuracy as a Keras metric, for a model that outputs class scores.

    ``y_true: [batch, 10]`` two-hot, ``y_pred: [batch, 10]`` scores (logits, probabilities or capsule
    lengths): the fraction of examples whose two highest scores are the two digits present. Named
    ``"both_right"`` like :class:`OverlapCapsNet`'s metric, so ``EarlyStopping(monitor="val_both_right")``
    serves both models.

    >>> model.compile(optimizer="adam", loss=..., metrics=[BothRight()])  # doctest: +SKIP
    """

    def __init__(self, name: str = "both_right", dtype: Any = None) -> None:
        super().__init__(_both_right_of_labels, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="capsnet_book")
class OverlapCapsNet(CanvasCapsNet):
    """Chapter 6's CapsNet trained to report and reconstruct two overlapping digits.

    ``fit`` takes batches ``(overlay [batch, size, size, 1], targets)`` with ``targets`` a dict of
    ``"both"`` (two-hot ``[batch, 10]``), ``"first_label"``/``"second_label"`` (one-hot
    ``[batch, 10]``) and ``"first"``/``"second"`` (each digit alone, ``[batch, size, size, 1]``),
    as :class:`OverlapPairs` yields them. Its metric ``both_right`` is the paper's accuracy.

    Shape (call): ``images [batch, size, size, 1] -> lengths [batch, 10], reconstructions of the
    longest capsule [batch, size, size, 1]``; :meth:`reconstruct_each` decodes any capsule.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.both_right_tracker = keras.metrics.Mean(name="both_right")

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, self.both_right_tracker]

    def reconstruct_each(self, images: Any, first_label: Any, second_label: Any) -> tuple[Any, Any, Any]:
        """``(lengths, reconstruction from first_label's capsule, from second_label's)``.

        ``first_label, second_label: [batch, 10]`` one-hot (at test time: the two longest capsules).
        """
        capsules = self.digit_capsules(images)
        return self.length(capsules), self.decode(capsules, first_label), self.decode(capsules, second_label)

    def overlap_loss(self, images: Any, targets: dict, training: bool = False) -> tuple[Any, Any]:
        """The MultiMNIST objective and the capsule lengths for one batch.

        Margin loss on the two-hot targets, plus ``reconstruction_weight`` times the summed
        squared error of each digit reconstructed from its own capsule.
        """
        lengths, first, second = self.reconstruct_each(images, targets["first_label"], targets["second_label"])
        loss = margin_loss(targets["both"], lengths)
        if self.reconstruction_weight:
            errors = [ops.sum(ops.square(r - t), axis=(1, 2, 3))
                      for r, t in ((first, targets["first"]), (second, targets["second"]))]
            loss = loss + self.reconstruction_weight * (errors[0] + errors[1])
        return ops.mean(loss), lengths

    def _report_pair(self, loss: Any, targets: dict, lengths: Any) -> dict:
        self.loss_tracker.update_state(loss)
        self.both_right_tracker.update_state(both_right_tensor(lengths, targets["both"]))
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data: Any) -> dict:
        images, targets = data[0], data[1]
        variables = self.trained_variables()  # without the decoder when it gets no loss, as in CapsNet
        with tf.GradientTape() as tape:
            loss, lengths = self.overlap_loss(images, targets, training=True)
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return self._report_pair(loss, targets, lengths)

    def test_step(self, data: Any) -> dict:
        images, targets = data[0], data[1]
        loss, lengths = self.overlap_loss(images, targets)
        return self._report_pair(loss, targets, lengths)


def build_overlap_capsnet(config: CapsNetConfig, routing_iterations: int = 3, size: int = 36,
                          **options: Any) -> OverlapCapsNet:
    """An :class:`OverlapCapsNet` for ``size x size`` overlays, built (its weights exist), uncompiled.

    ``options`` go to :class:`~capsnet_book.capsnet.CapsNet` (``reconstruction_weight``,
    ``logit_scale``, ...).
    """
    model = OverlapCapsNet(config, routing_iterations, size=size, **options)
    with warnings.catch_warnings():  # Keras notes that a subclassed model has no build()
        warnings.simplefilter("ignore", UserWarning)
        model(ops.zeros((1, size, size, 1)))  # creates every weight now, not inside fit's compiled step
    return model


class OverlapPairs(keras.utils.PyDataset):
    """Batches of overlapping digits, in a seeded order.

    ``overlay, first, second: [n, size, size, 1]``, ``label_pairs: [n, 2]`` (as
    :func:`capsnet_book.multimnist.make_pairs` returns them) ``-> (overlay [batch, ...], targets)``
    with the dict of targets :class:`OverlapCapsNet` expects, or with ``labels_only=True`` the
    two-hot labels ``[batch, 10]`` alone (for a two-label CNN). The order is drawn anew each epoch
    from ``numpy.random.default_rng(seed)``, so two datasets with the same seed give two models
    the same batches; the last partial batch is dropped.

    Raises:
        ValueError: arrays of different lengths, or fewer examples than one batch.
    """

    def __init__(self, overlay: np.ndarray, first: np.ndarray, second: np.ndarray, label_pairs: np.ndarray,
                 batch_size: int, seed: int, labels_only: bool = False) -> None:
        super().__init__()
        lengths = {len(overlay), len(first), len(second), len(label_pairs)}
        if len(lengths) != 1:
            raise ValueError(f"OverlapPairs: overlay, first, second and label_pairs differ in length ({sorted(lengths)}).")
        if len(overlay) < batch_size:
            raise ValueError(f"OverlapPairs: {len(overlay)} examples make no batch of {batch_size}.")
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


def build_pair_cnn(widths: tuple[int, ...], dense_units: int, size: int = 36, dropout: float = 0.3) -> keras.Model:
    """Chapter 7's CNN for overlapping digits: ``[batch, size, size, 1] -> logits [batch, 10]``.

    One logit per class, to be read through a sigmoid each (train it with binary cross-entropy on
    two-hot labels); its answer is its two highest logits.
    """
    return build_cnn(widths, dense_units, dropout=dropout, input_shape=(size, size, 1), name="cnn")


def matching_dense_units(target_weights: int, widths: tuple[int, ...], size: int = 36) -> int:
    """The dense units that give :func:`build_pair_cnn` about ``target_weights`` inference weights.

    The inference weights grow linearly with the dense units, so two small builds give the line and
    the units are solved for, not searched.

    Raises:
        ValueError: no positive number of units reaches ``target_weights``.
    """
    one, two = (inference_parameters(build_pair_cnn(widths, units, size)) for units in (1, 2))
    units = round((target_weights - one) / (two - one)) + 1
    if units < 1:
        raise ValueError(f"matching_dense_units: {target_weights:,} weights is fewer than the convolutions alone "
                         f"need ({one:,} with one dense unit); use narrower widths than {tuple(widths)}.")
    return units


def class_scores(model: keras.Model, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """Class scores ``[n, 10]`` of ``images [n, size, size, 1]``, in batches.

    Capsule lengths for an :class:`OverlapCapsNet`, logits for any other classifier: in both, higher
    means more present, which is all :func:`capsnet_book.multimnist.both_right_each` needs.
    """
    score = model.lengths if isinstance(model, OverlapCapsNet) else model
    return np.concatenate([np.asarray(score(images[i : i + batch])) for i in range(0, len(images), batch)])


def fit_on_pairs(model: keras.Model, train_pairs: tuple, val_pairs: tuple, seed: int, batch_size: int = 32,
                 learning_rate: float = 2e-3, max_epochs: int = 8, patience: int = 3) -> list[float]:
    """Train a model on overlapping digits to its best validation rate of "both digits right".

    ``train_pairs, val_pairs``: ``(overlay, first, second, label_pairs)`` as
    :func:`capsnet_book.multimnist.make_pairs` returns them. An :class:`OverlapCapsNet` trains on
    its own objective; any other model must output 10 logits and trains with binary cross-entropy
    on two-hot labels. Both see the same batches for the same ``seed`` (:class:`OverlapPairs`), use
    Adam with the rate multiplied by 0.9 after each epoch, and stop when the validation rate has not
    improved for ``patience`` epochs (at most ``max_epochs``), keeping the best epoch's weights.

    Returns:
        The validation rate after each epoch trained (its argmax is the epoch kept).
    """
    capsnet = isinstance(model, OverlapCapsNet)
    batches = OverlapPairs(*train_pairs, batch_size, seed, labels_only=not capsnet)
    validation = OverlapPairs(*val_pairs, batch_size, seed, labels_only=not capsnet)
    rate = keras.optimizers.schedules.ExponentialDecay(learning_rate, decay_steps=len(batches), decay_rate=0.9)
    if capsnet:
        model.compile(optimizer=keras.optimizers.Adam(rate))
    else:
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                      metrics=[BothRight()])
    stop = keras.callbacks.EarlyStopping(monitor="val_both_right", mode="max", patience=patience,
                                         restore_best_weights=True)
    history = model.fit(batches, validation_data=validation, epochs=max_epochs, callbacks=[stop], verbose=0)
    return [float(v) for v in history.history["val_both_right"]]

