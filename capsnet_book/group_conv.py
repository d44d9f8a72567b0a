"""A rotation-equivariant CNN on the group p4 (Cohen and Welling, 2016), for chapter 7.

The group p4 holds the translations of the pixel grid combined with the four rotations by
multiples of 90 degrees. A p4 feature map has one extra axis, the *rotation channel* ``r`` in
``0..3``: tensors here are ``[batch, h, w, 4, channels]``.

* :class:`P4Conv2D` with ``lifting=True`` (Z2 -> p4) correlates an image ``[batch, h, w, c]``
  with each filter turned by 0, 90, 180 and 270 degrees; output ``r`` uses the filter turned
  ``r`` times (``np.rot90(kernel, r)``).
* :class:`P4Conv2D` with ``lifting=False`` (p4 -> p4) reads all four rotation channels; for
  output ``r`` the filter is turned ``r`` times *and* its rotation axis is rolled by ``r``.
* :class:`P4MaxPool2D` pools space inside each rotation channel; :class:`P4RotationPool`
  takes the maximum over the four rotation channels, which ends the equivariant part.

The property that the tests check: rotating the input by 90 degrees counter-clockwise
(``np.rot90(x, 1, axes=(1, 2))``) rotates every p4 feature map the same way *and* moves the
rotation channels one step along (``np.roll(..., 1, axis=3)``). After :class:`P4RotationPool`
and a global spatial pooling, the output no longer changes at all under such rotations.
This holds exactly for square inputs, odd kernels with ``"same"`` (or ``"valid"``) padding,
and 2x2 pooling on even-sized maps; :func:`build_p4_cnn` keeps to those.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
from keras import layers, ops

from capsnet_book.cnn import classifier_head

__all__ = ["P4Conv2D", "P4MaxPool2D", "P4RotationPool", "build_p4_cnn", "build_z2_cnn", "rotate_p4_kernel"]

N_ROTATIONS = 4
P4_HEADS = ("global", "flatten")


def rotate_p4_kernel(kernel: Any, r: int) -> Any:
    """The p4 -> p4 filter used for output rotation ``r``.

    ``kernel: [k, k, 4, c_in, c_out] -> [k, k, 4, c_in, c_out]``: each spatial slice turned
    ``r`` times by 90 degrees (counter-clockwise, as ``np.rot90``) and the input-rotation axis
    rolled by ``r`` (slice ``s`` of the result is slice ``(s - r) % 4`` of the input).

    Args:
        kernel: a NumPy array or tensor of rank 5.
        r: the number of quarter turns, any integer (taken modulo 4).

    Returns:
        The transformed filter, same type family as ``keras.ops`` returns.

    >>> tuple(rotate_p4_kernel(np.zeros((3, 3, 4, 2, 5), "float32"), 1).shape)
    (3, 3, 4, 2, 5)
    """
    r = int(r) % N_ROTATIONS
    turned = kernel
    for _ in range(r):  # np.rot90 on axes (0, 1): new[i, j] = old[j, k - 1 - i]
        turned = ops.flip(ops.transpose(turned, (1, 0, 2, 3, 4)), axis=0)
    return ops.roll(turned, r, axis=2)


@keras.saving.register_keras_serializable(package="capsnet_book")
class P4Conv2D(layers.Layer):
    """Group convolution on p4: each filter applied in its four 90-degree rotations.

    Shape: ``lifting=True``: ``[batch, h, w, c_in] -> [batch, h', w', 4, filters]``;
    ``lifting=False``: ``[batch, h, w, 4, c_in] -> [batch, h', w', 4, filters]``
    (``h' = h`` with ``"same"`` padding, ``h - kernel_size + 1`` with ``"valid"``).

    All four rotated copies share one set of weights, so a p4 layer has the weights of one
    ordinary convolution (times 4 for ``lifting=False``, whose filters also span the rotation
    axis) and four times as many output maps. A bias, if used, is shared across rotations.

    Args:
        filters: output channels per rotation.
        kernel_size: side of the square filter; must be odd (even sizes break the symmetry).
        lifting: ``True`` for the first layer (plain images in), ``False`` for p4 maps in.
        padding: ``"same"`` or ``"valid"``.
        use_bias: add one learned bias per output channel.
        kernel_initializer: for the filter weights.

    Raises:
        ValueError: even ``kernel_size``, unknown ``padding``, or an input of the wrong rank
            (4 for lifting, 5 with a rotation axis of size 4 otherwise).
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int = 3,
        lifting: bool = False,
        padding: str = "same",
        use_bias: bool = True,
        kernel_initializer: Any = "he_normal",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if int(kernel_size) % 2 != 1:
            raise ValueError(
                f"P4Conv2D: kernel_size must be odd so that a rotated filter stays centred, got {kernel_size}."
            )
        if padding not in ("same", "valid"):
            raise ValueError(f"P4Conv2D: padding must be 'same' or 'valid', got {padding!r}.")
        self.filters, self.kernel_size = int(filters), int(kernel_size)
        self.lifting, self.padding, self.use_bias = bool(lifting), padding, bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def _check_input(self, input_shape: tuple) -> None:
        shape = tuple(input_shape)
        if self.lifting and len(shape) != 4:
            raise ValueError(
                f"P4Conv2D(lifting=True): expected images of rank 4 [batch, h, w, c], got shape {shape}."
            )
        if not self.lifting and (len(shape) != 5 or shape[3] != N_ROTATIONS):
            raise ValueError(
                "P4Conv2D(lifting=False): expected p4 maps of rank 5 [batch, h, w, 4, c], "
                f"got shape {shape}; use lifting=True for the first layer."
            )
        if shape[-1] is None:
            raise ValueError(f"P4Conv2D: the channel count must be known, got shape {shape}.")

    def build(self, input_shape: tuple) -> None:
        self._check_input(input_shape)
        c_in, k = int(input_shape[-1]), self.kernel_size
        shape = (k, k, c_in, self.filters) if self.lifting else (k, k, N_ROTATIONS, c_in, self.filters)
        self.kernel = self.add_weight(shape=shape, initializer=self.kernel_initializer, name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias") if self.use_bias else None

    def expanded_kernel(self) -> Any:
        """The ordinary convolution filter that computes all four rotations in one pass.

        ``[k, k, c_in, 4 * filters]`` (lifting) or ``[k, k, 4 * c_in, 4 * filters]``; output
        channel ``r * filters + f`` is filter ``f`` for rotation ``r``.
        """
        k, f = self.kernel_size, self.filters
        if self.lifting:
            turned = [ops.rot90(self.kernel, r, axes=(0, 1)) for r in range(N_ROTATIONS)]
            return ops.concatenate(turned, axis=-1)
        c_in = self.kernel.shape[3]
        turned = [rotate_p4_kernel(self.kernel, r) for r in range(N_ROTATIONS)]  # 4 x [k, k, 4, c, f]
        stacked = ops.stack(turned, axis=4)  # [k, k, 4, c, 4, f]
        return ops.reshape(stacked, (k, k, N_ROTATIONS * c_in, N_ROTATIONS * f))

    def call(self, inputs: Any) -> Any:
        self._check_input(inputs.shape)
        x = inputs
        if not self.lifting:
            x = ops.reshape(x, (-1, x.shape[1], x.shape[2], N_ROTATIONS * x.shape[4]))
        y = ops.conv(x, self.expanded_kernel(), strides=1, padding=self.padding)
        y = ops.reshape(y, (-1, y.shape[1], y.shape[2], N_ROTATIONS, self.filters))
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        h, w = input_shape[1], input_shape[2]
        if self.padding == "valid":
            h = None if h is None else h - self.kernel_size + 1
            w = None if w is None else w - self.kernel_size + 1
        return (input_shape[0], h, w, N_ROTATIONS, self.filters)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "lifting": self.lifting,
            "padding": self.padding,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="capsnet_book")
class P4MaxPool2D(layers.Layer):
    """2x2 max pooling of space, separately in each rotation channel.

    Shape: ``[batch, h, w, 4, c] -> [batch, h // 2, w // 2, 4, c]``. Equivariance needs even
    ``h`` and ``w`` (then the 2x2 blocks are mapped onto each other by a 90-degree turn).

    Raises:
        ValueError: input not of rank 5, or odd spatial size.
    """

    def call(self, inputs: Any) -> Any:
        shape = tuple(inputs.shape)
        if len(shape) != 5 or (shape[1] is not None and shape[1] % 2) or (shape[2] is not None and shape[2] % 2):
            raise ValueError(f"P4MaxPool2D: expected p4 maps [batch, h, w, 4, c] with even h and w, got shape {shape}.")
        h, w, c = shape[1], shape[2], shape[4]
        x = ops.reshape(inputs, (-1, h, w, N_ROTATIONS * c))
        x = ops.max_pool(x, 2, strides=2, padding="valid")
        return ops.reshape(x, (-1, h // 2, w // 2, N_ROTATIONS, c))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[1] // 2, input_shape[2] // 2, N_ROTATIONS, input_shape[4])


@keras.saving.register_keras_serializable(package="capsnet_book")
class P4RotationPool(layers.Layer):
    """Maximum over the four rotation channels: ``[batch, h, w, 4, c] -> [batch, h, w, c]``.

    The result is no longer a p4 map: rotating the input by 90 degrees only rotates it.

    Raises:
        ValueError: input not of rank 5 with a rotation axis of size 4.
    """

    def call(self, inputs: Any) -> Any:
        shape = tuple(inputs.shape)
        if len(shape) != 5 or shape[3] != N_ROTATIONS:
            raise ValueError(f"P4RotationPool: expected p4 maps [batch, h, w, 4, c], got shape {shape}.")
        return ops.max(inputs, axis=3)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], input_shape[1], input_shape[2], input_shape[4])


def build_p4_cnn(
    filters: Sequence[int] = (8, 16, 32),
    input_shape: tuple[int, int, int] = (40, 40, 1),
    dense: int = 64,
    dropout: float = 0.0,
    n_classes: int = 10,
    kernel_size: int = 3,
    head: str = "global",
    batch_norm: bool = False,
    name: str = "p4_cnn",
) -> keras.Model:
    """A p4-CNN classifier whose logits do not change when the input turns by 90 degrees.

    Layers: lifting :class:`P4Conv2D` -> (batch norm) -> ReLU, then for each further entry of
    ``filters`` a 2x2 :class:`P4MaxPool2D` and a p4 -> p4 :class:`P4Conv2D` -> (batch norm) ->
    ReLU; then :class:`P4RotationPool` and, with ``head="global"``, global max pooling over
    space (the logits are then invariant to 90-degree turns), or with ``head="flatten"`` a
    flatten (which keeps positions, so only the pooled maps are equivariant); then a dense
    layer (ReLU, optional dropout) and the logits. Batch norm pools its statistics over the
    rotation axis too (it normalises the last axis only), so it keeps the symmetry; on a CPU it
    more than doubled the training time of a small p4-CNN for little gain, hence off by default.

    Shape: ``images [batch, h, w, c] -> logits [batch, n_classes]``.

    Args:
        filters: channels per rotation of each p4 layer (the first one lifts).
        input_shape: ``(h, w, c)``, square, with ``h`` divisible by ``2 ** (len(filters) - 1)``.
        dense: units of the hidden dense layer.
        dropout: dropout rate before the logits (0 for none).
        n_classes: size of the output.
        kernel_size: odd side of every filter.
        head: ``"global"`` (invariant) or ``"flatten"``.
        batch_norm: batch normalisation after each p4 convolution.
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model`` that outputs logits.

    Raises:
        ValueError: empty ``filters``, unknown ``head``, a non-square input, or a side that
            the pooling would make odd.

    >>> build_p4_cnn((4, 8), input_shape=(28, 28, 1)).output_shape
    (None, 10)
    """
    if head not in P4_HEADS:
        raise ValueError(f"build_p4_cnn: unknown head {head!r}; choose 'global' or 'flatten'.")
    if len(filters) == 0:
        raise ValueError("build_p4_cnn: filters must name at least one layer, got an empty sequence.")
    h, w, _ = input_shape
    if h != w:
        raise ValueError(f"build_p4_cnn: a 90-degree turn needs a square input, got {h}x{w}.")
    if h % (2 ** (len(filters) - 1)):
        raise ValueError(
            f"build_p4_cnn: {len(filters) - 1} poolings need a side divisible by {2 ** (len(filters) - 1)}, got {h}."
        )
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for i, f in enumerate(filters):
        if i > 0:
            x = P4MaxPool2D(name=f"p4_pool{i}")(x)
        x = P4Conv2D(f, kernel_size, lifting=(i == 0), use_bias=not batch_norm, name=f"p4_conv{i + 1}")(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"relu{i + 1}")(x)
    x = P4RotationPool(name="rotation_pool")(x)
    if head == "global":
        x = layers.GlobalMaxPooling2D(name="global_max")(x)
    else:
        x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, classifier_head(x, dense, dropout, n_classes), name=name)



def build_z2_cnn(
    filters: Sequence[int] = (8, 16, 32),
    input_shape: tuple[int, int, int] = (40, 40, 1),
    dense: int = 64,
    dropout: float = 0.0,
    n_classes: int = 10,
    kernel_size: int = 3,
    name: str = "z2_cnn",
) -> keras.Model:
    """The plain-CNN twin of :func:`build_p4_cnn` (Cohen and Welling's "Z2CNN" control).

    The same layers in the same order with the same head: a ``kernel_size`` convolution and
    ReLU per entry of ``filters``, 2x2 max pooling between them, global max pooling over space,
    a dense layer and the logits. Only the convolutions differ: ordinary ones, with **twice**
    the channels of the p4-CNN's per-rotation count, which gives about the same number of
    weights (a p4 layer with ``f`` channels per rotation reads ``4 f`` input channels, and
    ``k * k * 4 f_in * f_out == k * k * 2 f_in * 2 f_out``). Global max pooling makes the
    logits invariant to shifts of the feature maps, not to rotations: what the p4-CNN adds is
    then the rotation group alone.

    Shape: ``images [batch, h, w, c] -> logits [batch, n_classes]``.

    Raises:
        ValueError: empty ``filters`` or a side that the pooling would make odd.

    >>> build_z2_cnn((4, 8), input_shape=(28, 28, 1)).output_shape
    (None, 10)
    """
    if len(filters) == 0:
        raise ValueError("build_z2_cnn: filters must name at least one layer, got an empty sequence.")
    h = input_shape[0]
    if h % (2 ** (len(filters) - 1)):
        raise ValueError(
            f"build_z2_cnn: {len(filters) - 1} poolings need a side divisible by {2 ** (len(filters) - 1)}, got {h}."
        )
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for i, f in enumerate(filters):
        if i > 0:
            x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = layers.Conv2D(2 * f, kernel_size, padding="same", activation="relu", name=f"conv{i + 1}")(x)
    x = layers.GlobalMaxPooling2D(name="global_max")(x)
    return keras.Model(inputs, classifier_head(x, dense, dropout, n_classes), name=name)
