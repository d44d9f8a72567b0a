"""The CapsNet of Sabour et al. (2017) for 28x28 digits, at paper scale and a quick CPU scale.

``build_capsnet(preset)`` returns a built :class:`CapsNet`:

    Conv1 (ReLU) -> PrimaryCaps (squash) -> DigitCaps (dynamic routing) -> lengths
                                                   \\-> mask -> decoder -> reconstruction

``build_capsnet_trunk(preset)`` is the same convolutions with no capsule parts (a dense
softmax on top), the reference point of the throughput benchmark. ``capsnet_loss`` is the
paper's training objective: margin loss plus 0.0005 times the summed squared reconstruction
error. ``random_shift`` is the paper's augmentation (shifts of up to 2 pixels), and
:class:`ShiftedDigits` feeds ``fit`` with it, a new shift of every digit each epoch.

Training is Keras' own ``fit``: :class:`CapsNet` overrides ``train_step`` and ``test_step``
(the loss needs the images and the labels inside the model's call), so callbacks, validation
data and early stopping work as for any Keras model::

    model = build_capsnet("quick")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(ShiftedDigits(x, y, batch_size=32, max_shift=2, seed=0), epochs=10)
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
from capsnet_book.transforms import translate

__all__ = [
    "PRESETS",
    "RECONSTRUCTION_WEIGHT",
    "CapsNet",
    "CapsNetConfig",
    "ShiftedDigits",
    "build_capsnet",
    "build_capsnet_trunk",
    "capsnet_loss",
    "random_shift",
]

RECONSTRUCTION_WEIGHT = 0.0005  # the paper scales the summed squared error down by this much
IMAGE_SHAPE = (28, 28, 1)


@dataclass(frozen=True)
class CapsNetConfig:
    """The sizes of a CapsNet (the paper's values in the ``paper`` preset)."""

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
    "paper": CapsNetConfig(256, 9, 32, 8, 9, 2, 16, (512, 1024)),
    # Same structure, fewer channels: trains on a 2-core CPU in about a minute.
    "quick": CapsNetConfig(32, 9, 8, 8, 9, 2, 16, (256, 512)),
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

    def loss_and_lengths(self, images: Any, labels: Any, training: bool = False) -> tuple[Any, Any]:
        """The training objective and the capsule lengths for a batch with one-hot ``labels``.

        The decoder reconstructs from the labelled capsule; with ``reconstruction_weight == 0``
        it is skipped and the loss is the margin loss alone.
        """
        if self.reconstruction_weight == 0:
            lengths = self.length(self.digit_capsules(images))
            return ops.mean(margin_loss(labels, lengths)), lengths
        lengths, reconstructions = self(images, labels, training=training)
        loss = capsnet_loss(labels, lengths, images, reconstructions, self.reconstruction_weight)
        return loss, lengths

    def trained_variables(self) -> list:
        """What ``fit`` updates: everything, but the decoder when it gets no loss."""
        if self.reconstruction_weight == 0:
            return [v for part in (self.conv1, self.primary_caps, self.digit_caps) for v in part.trainable_variables]
        return self.trainable_variables

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, self.accuracy_tracker]

    def _report(self, loss: Any, labels: Any, lengths: Any) -> dict:
        self.loss_tracker.update_state(loss)
        self.accuracy_tracker.update_state(labels, lengths)
        return {metric.name: metric.result() for metric in self.metrics}

    def train_step(self, data: Any) -> dict:
        """One step of ``fit`` on ``(images, one-hot labels)``: loss, gradients, update."""
        images, labels = data[0], data[1]
        variables = self.trained_variables()
        with tf.GradientTape() as tape:
            loss, lengths = self.loss_and_lengths(images, labels, training=True)
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        return self._report(loss, labels, lengths)

    def test_step(self, data: Any) -> dict:
        """``evaluate`` and validation: the same loss and accuracy, no update."""
        images, labels = data[0], data[1]
        loss, lengths = self.loss_and_lengths(images, labels)
        return self._report(loss, labels, lengths)

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


class ShiftedDigits(keras.utils.PyDataset):
    """``(images, one-hot labels)`` batches for ``fit``, every digit shifted anew each epoch.

    The shifts (up to ``max_shift`` pixels, :func:`random_shift`) and the order of the digits
    come from one generator seeded with ``seed``, so two models given datasets with the same
    seed see exactly the same batches. ``max_shift=0`` gives the digits unshifted.

    Shape: ``images [n, H, W, 1], labels [n] (integers) -> batches of
    ([batch, H, W, 1], [batch, n_classes])``; the last partial batch is dropped.

    Raises:
        ValueError: the images and labels differ in length, or there is not one full batch.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, max_shift: int,
                 seed: int, n_classes: int = 10) -> None:
        super().__init__()
        if len(images) != len(labels):
            raise ValueError(f"ShiftedDigits: {len(images)} images but {len(labels)} labels.")
        if len(images) < batch_size:
            raise ValueError(f"ShiftedDigits: {len(images)} images make no batch of {batch_size}.")
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
