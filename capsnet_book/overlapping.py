"""A CapsNet for two overlapping digits (the paper's MultiMNIST model), for chapter 8.

Sabour, Frosst and Hinton (2017, section 6) train the CapsNet on pairs of overlapping digits
(:mod:`capsnet_book.multimnist`) with two changes to chapter 6's objective:

* the margin loss gets *two-hot* targets: both digits' capsules should be long;
* the decoder reconstructs each digit on its own, from its own capsule (the other capsules
  masked out), and both reconstruction errors are added.

At test time the two longest capsules are the answer (:func:`capsnet_book.multimnist.both_right`),
and each of them can be decoded on its own: the network pulls the overlay apart.

:class:`OverlapCapsNet` is :class:`~capsnet_book.comparison_models.CanvasCapsNet` (chapter 6's
CapsNet on any square canvas) with that objective (its ``objective`` and ``score_metrics``; the
training step is chapter 6's), so :func:`fit_on_pairs` trains it on
:class:`~capsnet_book.datasets.OverlapPairs` batches.
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
from keras import ops

from capsnet_book.capsnet import CapsNetConfig
from capsnet_book.capsules import margin_loss
from capsnet_book.comparison_models import CanvasCapsNet, build_cnn
from capsnet_book.costs import inference_parameters
from capsnet_book.datasets import OverlapPairs
from capsnet_book.multimnist import BothRight, both_right_tensor
from capsnet_book.training import Schedule, fit

__all__ = ["OverlapCapsNet", "build_overlap_capsnet", "build_pair_cnn", "fit_on_pairs", "matching_dense_units"]


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

    def objective(self, images: Any, targets: dict, training: bool = False) -> tuple[Any, Any]:
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

    def score_metrics(self, targets: dict, scores: Any) -> None:
        self.both_right_tracker.update_state(both_right_tensor(scores, targets["both"]))


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


def fit_on_pairs(model: keras.Model, train_pairs: tuple, val_pairs: tuple, seed: int, batch_size: int = 32,
                 learning_rate: float = 2e-3, max_epochs: int = 8, patience: int = 3) -> list[float]:
    """Train a model on overlapping digits to its best validation rate of "both digits right".

    ``train_pairs, val_pairs``: ``(overlay, first, second, label_pairs)`` as
    :func:`capsnet_book.multimnist.make_pairs` returns them. An :class:`OverlapCapsNet` trains on
    its own objective; any other model must output 10 logits and trains with binary cross-entropy
    on two-hot labels. Both see the same batches for the same ``seed``
    (:class:`~capsnet_book.datasets.OverlapPairs`) and train by :func:`capsnet_book.training.fit`:
    Adam with the rate multiplied by 0.9 per epoch (spread over its steps), stopping when the
    validation rate has not improved for ``patience`` epochs (at most ``max_epochs``), keeping the
    best epoch's weights.

    Returns:
        The validation rate after each epoch trained (its argmax is the epoch kept).
    """
    capsnet = isinstance(model, OverlapCapsNet)
    batches = OverlapPairs(*train_pairs, batch_size, seed, labels_only=not capsnet)
    validation = OverlapPairs(*val_pairs, batch_size, seed, labels_only=not capsnet)
    schedule = Schedule(learning_rate=learning_rate, epochs=max_epochs, decay_per_epoch=0.9, patience=patience,
                        monitor="val_both_right")
    if capsnet:
        log = fit(model, batches, schedule, validation=validation)
    else:
        log = fit(model, batches, schedule, validation=validation,
                  loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[BothRight()])
    return log.history["val_both_right"]
