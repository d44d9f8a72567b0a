"""The CapsNet of Sabour et al. (2017) for 28x28 digits, at paper scale and a quick CPU scale.

``build_capsnet(preset)`` returns a built :class:`CapsNet`:

    Conv1 (ReLU) -> PrimaryCaps (squash) -> DigitCaps (dynamic routing) -> lengths
                                                   \\-> mask -> decoder -> reconstruction

``build_capsnet_trunk(preset)`` is the same convolutions with no capsule parts (a dense
softmax on top), the reference point of the throughput benchmark. ``capsnet_loss`` is the
paper's training objective: margin loss plus 0.0005 times the summed squared reconstruction
error. ``random_shift`` is the paper's augmentation (shifts of up to 2 pixels).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
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
    """

    def __init__(self, config: CapsNetConfig, routing_iterations: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.routing_iterations = routing_iterations
        self.conv1 = keras.layers.Conv2D(
            config.conv_filters, config.conv_kernel, activation="relu", name="conv1"
        )
        self.primary_caps = PrimaryCapsules(
            config.primary_channels, config.primary_dim, config.primary_kernel,
            config.primary_strides, name="primary_caps",
        )
        self.digit_caps = RoutedCapsules(
            config.n_classes, config.digit_dim, routing_iterations, name="digit_caps"
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

    def digit_capsules(self, images: Any) -> Any:
        """``images [batch, 28, 28, 1] -> digit capsules [batch, n_classes, digit_dim]``."""
        return self.digit_caps(self.primary_caps(self.conv1(images)))

    def decode(self, capsules: Any, labels: Any = None) -> Any:
        """``capsules [batch, n_classes, digit_dim] -> reconstructions [batch, 28, 28, 1]``."""
        return self.decoder(self.mask(capsules, labels))

    def call(self, images: Any, labels: Any = None, training: bool = False) -> tuple[Any, Any]:
        capsules = self.digit_capsules(images)
        return self.length(capsules), self.decode(capsules, labels)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "config": asdict(self.config),
            "routing_iterations": self.routing_iterations,
        }

    @classmethod
    def from_config(cls, config: dict) -> "CapsNet":
        sizes = dict(config.pop("config"))
        sizes["decoder_units"] = tuple(sizes["decoder_units"])
        return cls(CapsNetConfig(**sizes), **config)


def build_capsnet(preset: str = "quick", routing_iterations: int = 3) -> CapsNet:
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

    Returns:
        A :class:`CapsNet` whose weights exist (it has been called once on zeros).

    Raises:
        ValueError: unknown ``preset``, or ``routing_iterations`` is not a positive integer.

    >>> model = build_capsnet("quick")
    >>> [tuple(t.shape) for t in model(np.zeros((2, 28, 28, 1), "float32"))]
    [(2, 10), (2, 28, 28, 1)]
    """
    model = CapsNet(_config(preset), routing_iterations, name=f"capsnet_{preset}")
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
