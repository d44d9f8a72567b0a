"""Every layer and model the package registers for Keras saving survives a save/load round trip.

The registered classes are found by reading the package's source, so a new registered class
without an example here fails ``test_every_registered_class_has_an_example``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()
import keras  # noqa: E402

from capsnet_book import capsnet, capsules, cnn, comparison_models, group_conv, multimnist, overlapping  # noqa: E402

PACKAGE = Path(capsules.__file__).resolve().parent
_REGISTERED = re.compile(r"@keras\.saving\.register_keras_serializable\(([^)]*)\)\s*\nclass\s+(\w+)")


def registered_classes() -> dict[str, str]:
    """Class name -> the ``package=`` it is registered under, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.glob("*.py")):
        for args, name in _REGISTERED.findall(path.read_text(encoding="utf-8")):
            package = re.search(r"package\s*=\s*[\"']([^\"']+)", args)
            found[name] = package.group(1) if package else "Custom"
    return found


def _wrap(layer: keras.layers.Layer, shape: tuple) -> keras.Model:
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


@keras.saving.register_keras_serializable(package="capsnet_book_tests")
class _Holder(keras.Model):
    """Calls one layer eagerly: for a layer that cannot be used in a functional model."""

    def __init__(self, layer: keras.layers.Layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs):
        return self.layer(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config: dict) -> "_Holder":
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


def _held(layer: keras.layers.Layer, shape: tuple) -> keras.Model:
    model = _Holder(layer)
    model(np.zeros((1, *shape), "float32"))
    return model


def _canvas_capsnet() -> keras.Model:
    model = comparison_models.CanvasCapsNet(capsnet.PRESETS["quick"], routing_iterations=2, size=36)
    model(np.zeros((1, 36, 36, 1), "float32"))
    return model


# name -> (a built model that holds it, the input shape of one example). Every setting differs
# from its default, so a setting that get_config forgets changes the loaded model.
METRICS = {"BothRight": "both_right"}  # registered metrics, and the name they report under


def _compiled_with_both_right() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[multimnist.BothRight()])
    return model


EXAMPLES = {
    "PrimaryCapsules": (lambda: _wrap(capsules.PrimaryCapsules(4, 6, kernel_size=3, strides=1, padding="same"),
                                      (6, 6, 3)), (6, 6, 3)),
    "RoutedCapsules": (lambda: _wrap(capsules.RoutedCapsules(3, 4, routing_iterations=2, logit_scale=0.5,
                                                             gradient_through_routing=True), (6, 8)), (6, 8)),
    "CapsuleLength": (lambda: _wrap(capsules.CapsuleLength(), (5, 4)), (5, 4)),
    # Held by a subclassed model: see test_capsule_mask_in_a_functional_model.
    "CapsuleMask": (lambda: _held(capsules.CapsuleMask(), (5, 4)), (5, 4)),
    "BlurPool2D": (lambda: _wrap(cnn.BlurPool2D(size=5, stride=3), (9, 9, 3)), (9, 9, 3)),
    "P4Conv2D": (lambda: _wrap(group_conv.P4Conv2D(3, 5, lifting=True, padding="valid", use_bias=False), (8, 8, 1)),
                 (8, 8, 1)),
    "P4MaxPool2D": (lambda: _wrap(group_conv.P4MaxPool2D(), (8, 8, 4, 2)), (8, 8, 4, 2)),
    "P4RotationPool": (lambda: _wrap(group_conv.P4RotationPool(), (8, 8, 4, 2)), (8, 8, 4, 2)),
    "CapsNet": (lambda: capsnet.build_capsnet("quick", routing_iterations=2, logit_scale=2.0), (28, 28, 1)),
    "CanvasCapsNet": (_canvas_capsnet, (36, 36, 1)),
    "OverlapCapsNet": (lambda: overlapping.build_overlap_capsnet(capsnet.PRESETS["quick"], 2, size=36,
                                                                 reconstruction_weight=0.001), (36, 36, 1)),
    # A metric: a two-label classifier compiled with it, so that loading must find it again.
    "BothRight": (lambda: _compiled_with_both_right(), (3,)),
}


def test_every_registered_class_has_an_example():
    found = registered_classes()
    assert found, "found no registered classes: did the decorator's spelling change?"
    assert set(found) == set(EXAMPLES), f"registered {sorted(found)}, examples for {sorted(EXAMPLES)}"
    for name, package in found.items():
        assert keras.saving.get_registered_object(f"{package}>{name}") is not None, name


def _outputs(model: keras.Model, x: np.ndarray) -> list[np.ndarray]:
    out = model(x)
    return [keras.ops.convert_to_numpy(o) for o in (out if isinstance(out, (tuple, list)) else [out])]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_save_and_load_give_identical_outputs(name, tmp_path):
    build, shape = EXAMPLES[name]
    keras.utils.set_random_seed(0)
    model = build()
    x = np.random.default_rng(0).random((3, *shape)).astype("float32")
    before = _outputs(model, x)
    path = tmp_path / f"{name}.keras"
    keras.saving.save_model(model, path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    held = [type(layer).__name__ for layer in loaded._flatten_layers()]
    if name in METRICS:  # a metric lives in the compile config: the loaded model must report it
        labels = np.zeros((len(x), 10), "float32")
        held += list(loaded.evaluate(x, labels, verbose=0, return_dict=True))
        name = METRICS[name]
    assert name in held, f"the loaded model holds no {name}: {held}"
    after = _outputs(loaded, x)
    assert len(after) == len(before)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    for w_before, w_after in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(w_before), keras.ops.convert_to_numpy(w_after))


def test_loaded_capsnet_keeps_its_settings(tmp_path):
    model = capsnet.build_capsnet("quick", routing_iterations=2, logit_scale=2.0, reconstruction_weight=0.001)
    keras.saving.save_model(model, tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.config == model.config
    assert loaded.digit_caps.routing.iterations == 2 and loaded.digit_caps.routing.logit_scale == 2.0
    assert loaded.reconstruction_weight == 0.001


def test_capsule_mask_in_a_functional_model():
    """Keras matches compute_output_shape's argument names to call()'s (capsules -> capsules_shape)."""
    _wrap(capsules.CapsuleMask(), (5, 4))
