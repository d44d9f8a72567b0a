"""The CapsNet of Sabour et al. (2017) for 28x28 digits, at paper scale and a quick CPU scale.

``build_capsnet(preset)`` returns a built :class:`CapsNet`:

    Conv1 (ReLU) -> PrimaryCaps (squash) -> DigitCaps (dynamic routing) -> lengths
                                                   \\-> mask -> decoder -> reconstruction

``build_capsnet_trunk(preset)`` is the same convolutions with no capsule parts (a dense
softmax on top), the reference point of the throughput benchmark. ``capsnet_loss`` is the
paper's training objective: margin loss plus 0.0005 times the summed squared reconstruction
error.

Training is Keras' own ``fit`` (through :func:`capsnet_book.training.fit`): :class:`CapsNet`
defines the book's one ``train_step`` and ``test_step``, which call its :meth:`~CapsNet.objective`
(the loss needs the images and the labels inside the model's call), so callbacks, validation data
and early stopping work as for any Keras model. A model family with another objective (chapter 8's
:class:`~capsnet_book.overlapping.OverlapCapsNet`) overrides ``objective`` and ``score_metrics``
only::

    model = build_capsnet("quick")
    fit(model, ShiftedDigits(x, y, batch_size=32, max_shift=2, seed=0), Schedule(learning_rate=1e-3, epochs=10))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from capsnet_book.capsules import (
    CapsuleLength,
    CapsuleMask,
    PrimaryCapsules,
    RoutedCapsules,
    margin_loss,
)

__all__ = [
    "PRESETS",
    "RECONSTRUCTION_WEIGHT",
    "CapsNet",
    "CapsNetConfig",
    "build_capsnet",
    "build_capsnet_trunk",
    "capsnet_loss",
]

RECONSTRUCTION_WEIGHT = 0.0005  # the paper scales the summed squared error down by this much
IMAGE_SHAPE = (28, 28, 1)


@dataclass(frozen=True, kw_only=True)
class CapsNetConfig:
    """The sizes of a CapsNet (the paper's values in the ``paper`` preset), given by keyword."""

    conv_filters: int
    conv_kernel: int
    primary_channels: int
    primary_dim: int
    primary_kernel: int
    primary_strides: int
    digit_dim: int
    decoder_units: tuple[int, ...]
    n_classes: int = 10


PRESETS: dict[str, CapsNetConfig] = {
    # Sabour et al. (2017), section 4: 256@9x9, 32x8D @9x9 stride 2, 10x16D, 512-1024-784.
    "paper": CapsNetConfig(conv_filters=256, conv_kernel=9, primary_channels=32, primary_dim=8, primary_kernel=9,
                           primary_strides=2, digit_dim=16, decoder_units=(512, 1024)),
    # Same structure, fewer channels: trains on a 2-core CPU in about a minute.
    "quick": CapsNetConfig(conv_filters=32, conv_kernel=9, primary_channels=8, primary_dim=8, primary_kernel=9,
                           primary_strides=2, digit_dim=16, decoder_units=(256, 512)),
}


def _config(preset: str) -> CapsNetConfig:
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose one of {', '.join(map(repr, PRESETS))}.")
    return PRESETS[preset]


@keras.saving.register_keras_serializable(package="capsnet_book")
class CapsNet(keras.Model):
    """A CapsNet whose ``call(images, labels=None, training=False)`` returns
    ``(lengths [batch, n_classes], reconstructions [batch, 28, 28, 1])``.

    The decoder reconstructs from the labelled digit capsule when one-hot ``labels`` are given
    (training) and from the longest one otherwise (test time). ``digit_capsules`` and
    ``decode`` expose the two halves, e.g. to perturb a capsule and decode it.

    ``fit`` trains it on ``(images, one-hot labels)`` with :func:`capsnet_loss`; with
    ``reconstruction_weight=0`` the decoder is neither run nor trained. ``logit_scale`` and
    ``gradient_through_routing`` are passed to the routing (see
    :func:`~capsnet_book.capsules.dynamic_routing`), ``digit_caps_initializer`` initialises the
    matrices ``W_ij``.
    """

    def __init__(
        self,
        config: CapsNetConfig,
        routing_iterations: int = 3,
        *,
        logit_scale: float = 1.0,
        gradient_through_routing: bool = False,
        reconstruction_weight: float = RECONSTRUCTION_WEIGHT,
        digit_caps_initializer: Any = "glorot_uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not reconstruction_weight >= 0:
            raise ValueError(f"reconstruction_weight must be >= 0, got {reconstruction_weight!r}.")
        self.config = config
        self.routing_iterations = routing_iterations
        self.reconstruction_weight = float(reconstruction_weight)
        self.conv1 = keras.layers.Conv2D(
            config.conv_filters, config.conv_kernel, activation="relu", name="conv1"
        )
        self.primary_caps = PrimaryCapsules(
            config.primary_channels, config.primary_dim, config.primary_kernel,
            config.primary_strides, name="primary_caps",
        )
        self.digit_caps = RoutedCapsules(
            config.n_classes, config.digit_dim, routing_iterations, logit_scale=logit_scale,
            gradient_through_routing=gradient_through_routing,
            kernel_initializer=digit_caps_initializer, name="digit_caps",
        )
        self.length = CapsuleLength(name="length")
        self.mask = CapsuleMask(name="mask")
        self.decoder = keras.Sequential(
            [keras.layers.Dense(units, activation="relu") for units in config.decoder_units]
            + [
                keras.layers.Dense(int(np.prod(IMAGE_SHAPE)), activation="sigmoid"),
                keras.layers.Reshape(IMAGE_SHAPE),
            ],
            name="decoder",
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.CategoricalAccuracy(name="accuracy")

    def digit_capsules(self, images: Any) -> Any:
        """``images [batch, 28, 28, 1] -> digit capsules [batch, n_classes, digit_dim]``."""
        return self.digit_caps(self.primary_caps(self.conv1(images)))

    def decode(self, capsules: Any, labels: Any = None) -> Any:
        """``capsules [batch, n_classes, digit_dim] -> reconstructions [batch, 28, 28, 1]``."""
        return self.decoder(self.mask(capsules, labels))

    def call(self, images: Any, labels: Any = None, training: bool = False) -> tuple[Any, Any]:
        capsules = self.digit_capsules(images)
        return self.length(capsules), self.decode(capsules, labels)

    def class_scores(self, images: Any) -> Any:
        """``images -> capsule lengths [batch, n_classes]``, without running the decoder."""
        return self.length(self.digit_capsules(images))

    def objective(self, images: Any, targets: Any, training: bool = False) -> tuple[Any, Any]:
        """The training objective and the class scores (capsule lengths) for one batch.

        ``targets``: one-hot labels ``[batch, n_classes]``. Margin loss plus
        ``reconstruction_weight`` times the summed squared error of the image rebuilt from the
        labelled capsule; with ``reconstruction_weight == 0`` the decoder is skipped.
        """
        if self.reconstruction_weight == 0:
            lengths = self.class_scores(images)
            return ops.mean(margin_loss(targets, lengths)), lengths
        lengths, reconstructions = self(images, targets, training=training)
        loss = capsnet_loss(targets, lengths, images, reconstructions, self.reconstruction_weight)
        return loss, lengths

    def trained_variables(self) -> list:
        """What ``fit`` updates: everything, but the decoder when it gets no loss."""
        if self.reconstruction_weight == 0:
            return [v for part in (self.conv1, self.primary_caps, self.digit_caps) for v in part.trainable_variables]
        return self.trainable_variables

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, self.accuracy_tracker]

    def score_metrics(self, targets: Any, scores: Any) -> None:
        """Update the measures besides the loss from a batch's targets and class scores."""
        self.accuracy_tracker.update_state(targets, scores)

    def _report(self, loss: Any, targets: Any, scores: Any) -> dict:
        self.loss_tracker.update_state(loss)
        self.score_metrics(targets, scores)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data: Any) -> dict:
        """One step of ``fit`` on ``(images, targets)``: objective, gradients, update."""
        images, targets = data[0], data[1]
        variables = self.trained_variables()
        with tf.GradientTape() as tape:
            loss, scores = self.objective(images, targets, training=True)
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return self._report(loss, targets, scores)

    def test_step(self, data: Any) -> dict:
        """``evaluate`` and validation: the same objective and measures, no update."""
        images, targets = data[0], data[1]
        loss, scores = self.objective(images, targets)
        return self._report(loss, targets, scores)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "config": asdict(self.config),
            "routing_iterations": self.routing_iterations,
            "logit_scale": self.digit_caps.routing.logit_scale,
            "gradient_through_routing": self.digit_caps.routing.gradient_through_routing,
            "reconstruction_weight": self.reconstruction_weight,
            "digit_caps_initializer": keras.initializers.serialize(self.digit_caps.kernel_initializer),
        }

    @classmethod
    def from_config(cls, config: dict) -> "CapsNet":
        sizes = dict(config.pop("config"))
        sizes["decoder_units"] = tuple(sizes["decoder_units"])
        return cls(CapsNetConfig(**sizes), **config)


def build_capsnet(preset: str = "quick", routing_iterations: int = 3, **options: Any) -> CapsNet:
    """A built CapsNet for 28x28x1 digits.

    ``paper``: Conv1 256@9x9 (ReLU), PrimaryCaps 32x8D @9x9 stride 2 (1,152 capsules),
    DigitCaps 10x16D with routing, decoder 512-1024-784 (about 8.2 million parameters).
    ``quick``: Conv1 32@9x9, PrimaryCaps 8x8D @9x9 stride 2 (288 capsules), DigitCaps 10x16D,
    decoder 256-512-784 (about 1.1 million parameters), for a 2-core CPU.

    Shape: ``images [batch, 28, 28, 1] (, labels [batch, 10]) ->
    lengths [batch, 10], reconstructions [batch, 28, 28, 1]``.

    Args:
        preset: ``"quick"`` or ``"paper"``.
        routing_iterations: a positive integer (3 in the paper; 1 = uniform coupling).
        options: ``logit_scale``, ``gradient_through_routing``, ``reconstruction_weight``,
            ``digit_caps_initializer`` (see :class:`CapsNet`).

    Returns:
        A :class:`CapsNet` whose weights exist (it has been called once on zeros).

    Raises:
        ValueError: unknown ``preset``, or ``routing_iterations`` is not a positive integer.

    >>> model = build_capsnet("quick")
    >>> [tuple(t.shape) for t in model(np.zeros((2, 28, 28, 1), "float32"))]
    [(2, 10), (2, 28, 28, 1)]
    """
    model = CapsNet(_config(preset), routing_iterations, name=f"capsnet_{preset}", **options)
    model(ops.zeros((1, *IMAGE_SHAPE)))
    return model


def build_capsnet_trunk(preset: str = "quick") -> keras.Model:
    """The CapsNet's convolutions (Conv1 and the PrimaryCaps convolution), no capsule parts.

    A ReLU follows the second convolution, then a dense softmax over the classes. It is the
    throughput benchmark's reference: what the same convolutions cost without routing,
    squashing and the decoder.

    Shape: ``images [batch, 28, 28, 1] -> class probabilities [batch, 10]``.
    """
    config = _config(preset)
    return keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            keras.layers.Conv2D(config.conv_filters, config.conv_kernel, activation="relu"),
            keras.layers.Conv2D(
                config.primary_channels * config.primary_dim, config.primary_kernel,
                strides=config.primary_strides, activation="relu",
            ),
            keras.layers.Flatten(),
            keras.layers.Dense(config.n_classes, activation="softmax"),
        ],
        name=f"trunk_{preset}",
    )


def capsnet_loss(
    y_onehot: Any, lengths: Any, images: Any, reconstructions: Any,
    reconstruction_weight: float = RECONSTRUCTION_WEIGHT,
) -> Any:
    """Mean over the batch of margin loss + ``reconstruction_weight`` x summed squared error.

    Shape: ``y_onehot, lengths: [batch, 10]; images, reconstructions: [batch, 28, 28, 1]
    -> scalar``.
    """
    squared_error = ops.sum(ops.square(reconstructions - images), axis=(1, 2, 3))
    return ops.mean(margin_loss(y_onehot, lengths) + reconstruction_weight * squared_error)
