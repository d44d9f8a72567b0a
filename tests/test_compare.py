"""Unit tests of capsnet_book.compare: test sets, confidence, models, a tiny experiment."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()

from capsnet_book import transforms  # noqa: E402
from capsnet_book.capsnet import RECONSTRUCTION_WEIGHT, CapsNetConfig  # noqa: E402
from capsnet_book import costs  # noqa: E402
from capsnet_book.compare import run_experiment, score_sets, train_model  # noqa: E402
from capsnet_book.comparison_models import SETTINGS, CanvasCapsNet  # noqa: E402
from capsnet_book.datasets import split_validation  # noqa: E402
from capsnet_book.models import MODEL_NAMES, build_cnn, build_model, with_setting  # noqa: E402
from capsnet_book.scoring import auroc, confident_fraction, confusion_rate, relative_threshold, summarise  # noqa: E402
from capsnet_book.transformed_sets import displace_parts, make_test_sets  # noqa: E402
from capsnet_book.group_conv import build_p4_cnn, build_z2_cnn  # noqa: E402
from capsnet_book.scoring import paired_auroc_bootstrap  # noqa: E402

TINY = with_setting(
    "quick", n_train=40, n_eval=12, max_epochs=2, patience=1, batch_size=20, learning_rates=(1e-3, 3e-3),
    validation_fraction=0.25, canvas=16, max_shift=2,
    capsnet=CapsNetConfig(conv_filters=4, conv_kernel=3, primary_channels=2, primary_dim=4, primary_kernel=3,
                          primary_strides=2, digit_dim=4, decoder_units=(16,)),
    cnn_matched=((4, 4), 8), p4_filters=(2, 4), p4_dense=8,
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.zeros((6, 28, 28, 1), np.float32)
    x[:, 4:24, 6:22] = rng.random((6, 20, 16, 1))
    return x


def test_displace_parts_with_no_offset_is_the_centred_digit(digits):
    np.testing.assert_array_equal(displace_parts(digits, seed=0, max_offset=0), transforms.pad_to_canvas(digits, 40))


def test_displace_parts_is_deterministic_keeps_ink_and_moves_parts(digits):
    a, b = displace_parts(digits, seed=3), displace_parts(digits, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (6, 40, 40, 1)
    assert not np.array_equal(a, transforms.pad_to_canvas(digits, 40))
    # The brightest pixel of each digit survives (parts are moved, never erased or blended).
    np.testing.assert_allclose(a.max(axis=(1, 2, 3)), digits.max(axis=(1, 2, 3)))


def test_make_test_sets_names_shapes_and_determinism(digits):
    sets = make_test_sets(digits, seed=0, angles=(90, 180))
    assert list(sets) == ["clean", "placed", "rot90", "rot180", "affine", "scrambled", "displaced"]
    assert all(v.shape == (6, 40, 40, 1) for v in sets.values())
    np.testing.assert_array_equal(sets["clean"], transforms.pad_to_canvas(digits, 40))
    np.testing.assert_allclose(sets["rot90"], np.rot90(sets["clean"], 1, axes=(1, 2)), atol=1e-5)
    again = make_test_sets(digits, seed=0, angles=(90, 180))
    for key in sets:
        np.testing.assert_array_equal(sets[key], again[key])
    assert not np.array_equal(make_test_sets(digits, seed=1, angles=())["affine"], sets["affine"])


def test_placed_digits_stay_whole_and_within_the_training_shift(digits):
    placed = make_test_sets(digits, seed=0, angles=(), max_shift=3)["placed"]
    np.testing.assert_allclose(placed.sum(axis=(1, 2, 3)), digits.sum(axis=(1, 2, 3)), rtol=1e-5)
    centred = transforms.pad_to_canvas(digits, 40)
    for image, reference in zip(placed, centred):
        offsets = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
                   if np.array_equal(transforms.translate(reference[None], dy, dx)[0], image)]
        assert offsets, "each placed digit is the centred digit moved by at most max_shift pixels"


def test_confident_fraction_against_a_loop():
    rng = np.random.default_rng(0)
    scores, labels = rng.random((50, 10)), rng.integers(0, 10, 50)
    expected = np.mean([s.argmax() == y and s.max() > 0.9 for s, y in zip(scores, labels)])
    assert confident_fraction(scores, labels) == pytest.approx(expected)
    assert confident_fraction(scores, labels, threshold=0.0) == pytest.approx(np.mean(scores.argmax(1) == labels))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_build_model_shapes(name):
    model = build_model(name, TINY)
    out = model(np.zeros((2, 16, 16, 1), np.float32))
    if name.startswith("capsnet"):
        assert isinstance(model, CanvasCapsNet)
        assert [tuple(t.shape) for t in out] == [(2, 10), (2, 16, 16, 1)]
        assert model.routing_iterations == (1 if name == "capsnet_r1" else 3)
        routing = model.digit_caps.routing
        assert routing.logit_scale == (10.0 if name == "capsnet_scale10" else 1.0)
        assert routing.gradient_through_routing == (name == "capsnet_through")
        assert model.reconstruction_weight == (0.0 if name == "capsnet_no_recon" else RECONSTRUCTION_WEIGHT)
    else:
        assert tuple(out.shape) == (2, 10)


def test_blurpool_cnn_has_the_matched_cnns_weights():
    assert build_model("cnn_matched", TINY).count_params() == build_model("cnn_blurpool", TINY).count_params()
    assert build_cnn((8, 16), 32, anti_aliased=True).output_shape == (None, 10)


@pytest.mark.parametrize("setting", ["quick", "paper"])
def test_matched_cnn_matches_the_capsnet_on_inference_weights_and_flops(setting):
    capsnet, cnn = build_model("capsnet", setting), build_model("cnn_matched", setting)
    weights = costs.inference_parameters(cnn) / costs.inference_parameters(capsnet)
    assert abs(weights - 1) < 0.01, f"{setting}: inference weights differ by {100 * (weights - 1):.1f}%"
    if setting == "quick":  # profiling the paper models takes long; their FLOPs were matched by hand (1.6%)
        flops = costs.flops_per_image(cnn, (40, 40, 1)) / costs.flops_per_image(capsnet, (40, 40, 1))
        assert abs(flops - 1) < 0.05, f"FLOPs differ by {100 * (flops - 1):.1f}%"


def test_z2_twin_has_the_p4_cnns_layers_head_and_about_its_weights():
    p4, z2 = build_p4_cnn((8, 16, 24, 32)), build_z2_cnn((8, 16, 24, 32))
    assert abs(z2.count_params() / p4.count_params() - 1) < 0.1
    kinds = [type(layer).__name__ for layer in z2.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("MaxPooling2D") == 3 and "GlobalMaxPooling2D" in kinds
    images = np.random.default_rng(0).random((2, 40, 40, 1)).astype(np.float32)
    turned = np.rot90(images, 1, axes=(1, 2)).copy()
    assert np.abs(np.asarray(p4(turned)) - np.asarray(p4(images))).max() < 1e-4
    assert np.abs(np.asarray(z2(turned)) - np.asarray(z2(images))).max() > 1e-3


def test_split_validation_is_a_partition_fixed_by_the_seed():
    x, y = np.arange(50)[:, None], np.arange(50)
    x_fit, y_fit, x_val, y_val = split_validation(x, y, 0.2, seed=3)
    assert len(x_val) == 10 and sorted(np.concatenate([y_fit, y_val]).tolist()) == list(range(50))
    np.testing.assert_array_equal(split_validation(x, y, 0.2, seed=3)[3], y_val)
    assert not np.array_equal(split_validation(x, y, 0.2, seed=4)[3], y_val)


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(1)
    x_train = rng.random((40, 16, 16, 1)).astype(np.float32)
    y_train = np.arange(40) % 10
    sets = {key: rng.random((12, 16, 16, 1)).astype(np.float32) for key in ("clean", "other")}
    return x_train, y_train, sets


def test_every_model_of_a_seed_sees_the_same_batches(tiny_data, monkeypatch):
    from capsnet_book import compare

    x_train, y_train, _ = tiny_data
    seen = {}
    real_fit = compare.keras.Model.fit

    def recording_fit(model, batches, **kwargs):
        seen[model.name] = [batches[i][0].copy() for i in range(len(batches))]
        return real_fit(model, batches, **kwargs)

    monkeypatch.setattr(compare.keras.Model, "fit", recording_fit)
    for name in ("capsnet", "cnn_matched", "p4_cnn"):
        train_model(name, 0, (x_train[:30], y_train[:30]), (x_train[30:], y_train[30:]), TINY)
    first = seen["capsnet"]
    for name in ("cnn_matched", "p4_cnn"):
        assert all(np.array_equal(a, b) for a, b in zip(first, seen[name])), f"{name} saw other batches"


def test_tiny_experiment_is_tidy_and_repeatable(tiny_data):
    x_train, y_train, sets = tiny_data
    runs, scores = run_experiment(["capsnet", "cnn_matched"], [0, 1], x_train, y_train, sets, TINY, verbose=False)
    assert {"model", "seed", "learning_rate", "epochs", "best_epoch", "val_accuracy", "train_seconds"} <= set(runs.columns)
    assert len(runs) == 4 and set(scores) == {(m, s) for m in ("capsnet", "cnn_matched") for s in (0, 1)}
    assert runs.groupby("model").learning_rate.nunique().eq(1).all(), "the rate chosen on seed 0 is used for every seed"
    assert (runs.epochs <= TINY.max_epochs).all() and (runs.best_epoch <= runs.epochs).all()
    for value in scores.values():
        assert set(value) == {"clean", "other"} and value["clean"].shape == (12, 10)
    model, _ = train_model("cnn_matched", 0, (x_train[:30], y_train[:30]), (x_train[30:], y_train[30:]), TINY)
    again, _ = train_model("cnn_matched", 0, (x_train[:30], y_train[:30]), (x_train[30:], y_train[30:]), TINY)
    np.testing.assert_allclose(score_sets("cnn_matched", model, sets)["clean"],
                               score_sets("cnn_matched", again, sets)["clean"], atol=1e-5)


def test_early_stopping_keeps_the_best_epochs_weights(monkeypatch):
    from capsnet_book import compare

    rng = np.random.default_rng(2)
    x, y = rng.random((200, 16, 16, 1)).astype(np.float32), rng.integers(0, 10, 200)  # random labels: it wanders
    histories = []
    real_fit = compare.keras.Model.fit
    monkeypatch.setattr(compare.keras.Model, "fit", lambda m, *a, **k: histories.append(real_fit(m, *a, **k)) or histories[-1])
    setting = with_setting(TINY, max_epochs=8, patience=1, learning_rates=(0.05,))
    model, info = train_model("cnn_matched", 0, (x[:100], y[:100]), (x[100:], y[100:]), setting)
    val = histories[-1].history["val_accuracy"]
    assert val[-1] < max(val), f"this run should end on an epoch worse than its best, got {val}"
    # The validation digits are scored as given, so the kept weights must reproduce the best accuracy.
    kept = np.mean(score_sets("cnn_matched", model, {"val": x[100:]})["val"].argmax(axis=1) == y[100:])
    assert kept == pytest.approx(max(val), abs=1e-6) and info["val_accuracy"] == pytest.approx(max(val))


def test_auroc_against_all_pairs_and_its_bootstrap():
    rng = np.random.default_rng(0)
    positive, negative = rng.random(40).round(1), rng.random(30).round(1)  # rounded: many ties
    pairs = [(p > n) + 0.5 * (p == n) for p in positive for n in negative]
    assert auroc(positive, negative) == pytest.approx(np.mean(pairs))
    assert auroc(np.ones(3), np.zeros(3)) == 1.0 and auroc(np.zeros(3), np.ones(3)) == 0.0
    a = rng.random((3, 50)) + 0.5
    mean, low, high = paired_auroc_bootstrap(a, rng.random((3, 50)), rng.random((3, 50)), rng.random((3, 50)), n_boot=200)
    assert low < mean < high and low > 0
    with pytest.raises(ValueError, match="four arrays"):
        paired_auroc_bootstrap(a, a[:2], a, a)


def test_confusion_rate_counts_one_class_read_as_another():
    scores = np.eye(10)[[6, 9, 9, 6, 1]]
    labels = np.array([6, 6, 9, 9, 1])
    assert confusion_rate(scores, labels, 6, 9) == 0.5 and confusion_rate(scores, labels, 1, 6) == 0.0
    with pytest.raises(ValueError, match="no example of class 3"):
        confusion_rate(scores, labels, 3, 9)


def test_settings_follow_the_papers_affnist_protocol():
    for setting in SETTINGS.values():
        assert setting.canvas == 40 and setting.max_shift == 6  # placed at random on the 40x40 canvas
        assert 0 < setting.validation_fraction < 0.5 and setting.patience >= 1


def test_errors(digits):
    with pytest.raises(ValueError, match="Unknown model 'resnet'"):
        build_model("resnet", TINY)
    with pytest.raises(ValueError, match="Unknown setting 'fast'"):
        build_model("capsnet", "fast")
    with pytest.raises(ValueError, match="sides must be even"):
        displace_parts(np.zeros((1, 27, 27, 1)), seed=0)
    with pytest.raises(ValueError, match="max_offset must be >= 0"):
        displace_parts(digits, seed=0, max_offset=-1)
    with pytest.raises(ValueError, match="expected rank 4"):
        make_test_sets(np.zeros((28, 28)), seed=0)
    with pytest.raises(ValueError, match=r"expected scores \[n, classes\] and labels \[n\]"):
        confident_fraction(np.zeros((3, 10)), np.zeros(4))
    with pytest.raises(ValueError, match="val_data: 2 images but 3 labels"):
        train_model("cnn_matched", 0, (np.zeros((20, 16, 16, 1)), np.zeros(20, int)),
                    (np.zeros((2, 16, 16, 1)), np.zeros(3, int)), TINY)
    with pytest.raises(ValueError, match="fraction must be between 0 and 1"):
        split_validation(np.zeros((4, 1)), np.zeros(4), 1.0, seed=0)
    with pytest.raises(ValueError, match="give at least one seed"):
        run_experiment(["cnn_matched"], [], np.zeros((3, 16, 16, 1)), np.zeros(3), {}, TINY)
    with pytest.raises(KeyError, match="no column 'loss'"):
        summarise(__import__("pandas").DataFrame({"model": ["a"], "accuracy": [1.0]}), "loss")
    with pytest.raises(ValueError, match="at least one convolution block"):
        build_cnn(())
    with pytest.raises(ValueError, match="two non-empty 1-D"):
        auroc(np.zeros((2, 2)), np.zeros(2))


def test_relative_threshold():
    scores = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    labels = np.array([0, 0, 0, 0])
    assert relative_threshold(scores, labels, 0.0) == pytest.approx(0.6)
    assert relative_threshold(scores, labels, 1.0) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="quantile must be in"):
        relative_threshold(scores, labels, 1.5)
    with pytest.raises(ValueError, match="gets no example right"):
        relative_threshold(scores, np.array([1, 1, 0, 1]), 0.5)
