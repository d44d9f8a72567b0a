CODE = {}

CODE['colab'] = '''# On Colab: install the book's companion package (and its Korean font). Elsewhere: nothing.
import sys

if "google.colab" in sys.modules:
    %pip install -q "capsnet-book @ git+https://github.com/capsnet-book/capsnet-book@main"'''

CODE['setting'] = '''import os

SETTING = os.environ.get("BOOK_SETTING", "quick")  # "quick": CPU, minutes; "paper": GPU, paper scale
SEED = int(os.environ.get("BOOK_SEED", 0))'''

CODE['imports'] = '''from capsnet_book import notebook

notebook.quiet_logs()  # must run before TensorFlow is imported
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from capsnet_book import compare, costs, multimnist, readout, transforms
from capsnet_book.capsnet import build_capsnet
from capsnet_book.data import load_mnist
from capsnet_book.notebook import glue
from capsnet_book.overlapping import build_overlap_capsnet, build_pair_cnn, class_scores, fit_on_pairs, matching_dense_units
from capsnet_book.recorded import recorded_results, unpack_bits
from capsnet_book.stats import paired_bootstrap

notebook.check_setting(SETTING)
notebook.use_korean_font()
keras.utils.set_random_seed(SEED)
chapter_start = time.perf_counter()

# Quick: the quick CapsNet on pairs made from the 4,000-digit sample, two seeds, a few minutes on a CPU.
# Paper: the paper's CapsNet on pairs made from every training digit, for a GPU. A smoke run
# (BOOK_SMOKE=1, tools/smoke.sh) keeps this setting's models and code but trains on a few batches.
SMOKE = notebook.smoke_run()
CANVAS, MAX_SHIFT = 36, 4  # the paper's MultiMNIST: each digit shifted by up to 4 pixels on 36x36
CAPSNET_CONFIG = compare.SETTINGS[SETTING].capsnet  # chapter 7's sizes: quick, or the paper's
N_TRAIN_PAIRS = notebook.size({"quick": 8000, "paper": 200_000}[SETTING], smoke=64)
N_TEST_PAIRS = notebook.size({"quick": 1000, "paper": 10_000}[SETTING], smoke=64)
N_VAL_PAIRS = notebook.size({"quick": 500, "paper": 10_000}[SETTING], smoke=64)
MAX_EPOCHS = notebook.size({"quick": 8, "paper": 30}[SETTING], smoke=1)
PATIENCE = 3  # early stopping: epochs without a better validation score
BATCH_SIZE = notebook.size({"quick": 32, "paper": 128}[SETTING], smoke=32)
LEARNING_RATE = {"quick": 2e-3, "paper": 1e-3}[SETTING]
SEEDS = [SEED, SEED + 1][: notebook.size(2, smoke=1)]
glue("max_epochs", MAX_EPOCHS)
glue("conv_filters", CAPSNET_CONFIG.conv_filters)
glue("primary_types", CAPSNET_CONFIG.primary_channels)'''

CODE['pairs'] = '''(x_train, y_train), (x_test, y_test) = load_mnist()
x_fit, y_fit, x_val, y_val = compare.split_validation(x_train, y_train, 0.125, seed=SEED)  # digits held out
train_pairs = multimnist.make_pairs(x_fit, y_fit, N_TRAIN_PAIRS, seed=SEED, canvas=CANVAS, max_shift=MAX_SHIFT)
train_overlay, train_first, train_second, train_labels = train_pairs  # [n, 36, 36, 1] x3, [n, 2]
val_pairs = multimnist.make_pairs(x_val, y_val, N_VAL_PAIRS, seed=SEED + 2, canvas=CANVAS, max_shift=MAX_SHIFT)
test_overlay, test_first, test_second, test_labels = multimnist.make_pairs(
    x_test, y_test, N_TEST_PAIRS, seed=SEED + 1, canvas=CANVAS, max_shift=MAX_SHIFT)
glue("n_fit_digits", len(x_fit))
glue("n_train_pairs", N_TRAIN_PAIRS)
glue("n_test_pairs", N_TEST_PAIRS)
print(f"{N_TRAIN_PAIRS:,} training pairs from {len(x_fit):,} digits, {N_VAL_PAIRS:,} validation pairs from "
      f"the other {len(x_val):,}, {N_TEST_PAIRS:,} test pairs from {len(x_test):,} test digits")'''

CODE['fig_pairs'] = '''fig, axes = plt.subplots(3, 8, figsize=(7.4, 3.0))
for col in range(8):
    for row, images in enumerate((train_first, train_second, train_overlay)):
        axes[row, col].imshow(images[col, :, :, 0], cmap="gray_r", vmin=0, vmax=1)
        axes[row, col].set_xticks([])
        axes[row, col].set_yticks([])
    axes[0, col].set_title(f"{train_labels[col, 0]} + {train_labels[col, 1]}", fontsize=8)
for row, name in enumerate(["첫째 / first", "둘째 / second", "겹침 / overlay"]):
    axes[row, 0].set_ylabel(name, fontsize=8)
fig.tight_layout(pad=0.3)
glue("fig_pairs", fig, display=False)'''

CODE['overlap_measure'] = '''def ink_overlap(first, second):
    """Per pair: the fraction of the smaller digit's ink (pixels > 0.1) that the other digit covers."""
    a, b = first[..., 0] > 0.1, second[..., 0] > 0.1
    return (a & b).sum(axis=(1, 2)) / np.minimum(a.sum(axis=(1, 2)), b.sum(axis=(1, 2)))


overlap = ink_overlap(test_first, test_second)
glue("overlap_median", 100 * float(np.median(overlap)))
print(f"median share of the smaller digit's ink covered by the other: {np.median(overlap):.0%}")'''

CODE['match_cnn'] = '''CNN_WIDTHS = compare.SETTINGS[SETTING].cnn_matched[0]  # chapter 7's matched CNN's convolutions
capsnet_weights = costs.inference_parameters(build_overlap_capsnet(CAPSNET_CONFIG, 3, size=CANVAS))
# Inference weights grow linearly with the dense units: matching_dense_units solves for them.
DENSE_UNITS = matching_dense_units(capsnet_weights, CNN_WIDTHS, size=CANVAS)
cnn_weights = costs.inference_parameters(build_pair_cnn(CNN_WIDTHS, DENSE_UNITS, size=CANVAS))
assert abs(cnn_weights / capsnet_weights - 1) < 0.01, "the CNN should match the CapsNet's inference weights"
glue("capsnet_weights", capsnet_weights)
glue("cnn_weights", cnn_weights)
glue("dense_units", DENSE_UNITS)
print(f"CapsNet: {capsnet_weights:,} inference weights; CNN with {DENSE_UNITS} dense units: {cnn_weights:,}")'''

CODE['train'] = '''def train(name, seed):
    """The CapsNet (two-hot margin loss, each digit rebuilt) or the matched CNN (a sigmoid per class),
    trained by fit_on_pairs on the same batches to its best validation rate of both digits right."""
    keras.utils.set_random_seed(seed)
    model = (build_overlap_capsnet(CAPSNET_CONFIG, 3, size=CANVAS) if name == "capsnet"
             else build_pair_cnn(CNN_WIDTHS, DENSE_UNITS, size=CANVAS))
    curve = fit_on_pairs(model, train_pairs, val_pairs, seed, BATCH_SIZE, LEARNING_RATE, MAX_EPOCHS, PATIENCE)
    return model, curve


training_start = time.perf_counter()
models, correct, curves = {}, {"capsnet": [], "cnn": []}, {}
for seed in SEEDS:
    for name in ("capsnet", "cnn"):
        start = time.perf_counter()
        models[(name, seed)], curves[(name, seed)] = train(name, seed)
        scores = class_scores(models[(name, seed)], test_overlay)  # [pairs, 10]
        correct[name].append(multimnist.both_right_each(scores, test_labels))  # [pairs] booleans
        curve = curves[(name, seed)]
        print(f"{name:8s} seed {seed}: {len(curve)} epochs in {time.perf_counter() - start:3.0f} s, best epoch "
              f"{int(np.argmax(curve)) + 1}, validation {max(curve):.1%}, test: both digits right on {correct[name][-1].mean():.1%}")
training_seconds = glue("training_seconds", time.perf_counter() - training_start)'''

CODE['interval'] = '''both_caps, both_cnn = np.array(correct["capsnet"]), np.array(correct["cnn"])  # [seeds, pairs]
difference = paired_bootstrap(both_caps, both_cnn)
glue("both_capsnet", 100 * both_caps.mean())
glue("both_cnn", 100 * both_cnn.mean())
glue("both_diff", 100 * difference.mean)
glue("both_low", 100 * difference.low)
glue("both_high", 100 * difference.high)
still_rising = glue("still_rising", sum(int(np.argmax(c)) == len(c) - 1 for c in curves.values()))
glue("n_runs", len(curves))
print("both digits right, CapsNet - CNN:", difference)'''

CODE['separation'] = '''eye = np.eye(10, dtype="float32")


def reconstructions(model, overlay, classes_a, classes_b, batch=500):
    """Each pair decoded from the capsule of classes_a and, separately, of classes_b: two [n, h, w, 1]."""
    parts = [model.reconstruct_each(overlay[i : i + batch], eye[classes_a[i : i + batch]], eye[classes_b[i : i + batch]])
             for i in range(0, len(overlay), batch)]
    return tuple(np.concatenate([np.asarray(p[k]) for p in parts]) for k in (1, 2))


def squared_error(a, b):
    return ((a - b) ** 2).sum(axis=(1, 2, 3))


capsnet = models[("capsnet", SEEDS[0])]
rebuilt_first, rebuilt_second = reconstructions(capsnet, test_overlay, test_labels[:, 0], test_labels[:, 1])
own = squared_error(rebuilt_first, test_first) + squared_error(rebuilt_second, test_second)
swapped = squared_error(rebuilt_first, test_second) + squared_error(rebuilt_second, test_first)
closer_to_own = glue("closer_to_own", 100 * float(np.mean(own < swapped)))
print(f"each digit's reconstruction is closer to its own digit than to the other in {closer_to_own:.1f}% of the pairs")
if SETTING == "quick" and not SMOKE:
    assert closer_to_own > 90, "decoded one capsule at a time, the CapsNet should pull most overlays apart"'''

CODE['fig_segment'] = '''shown = np.arange(8)  # the first eight test pairs
ranked = np.argsort(-class_scores(capsnet, test_overlay[shown]), axis=1)  # classes by capsule length
longest, second_longest = reconstructions(capsnet, test_overlay[shown], ranked[:, 0], ranked[:, 1])
imagined, _ = reconstructions(capsnet, test_overlay[shown], ranked[:, 2], ranked[:, 2])


def colour(red, green):
    """Two grey images [h, w] in [0, 1] -> one RGB image: the first in red, the second in green, on white."""
    return np.clip(np.stack([1 - green, 1 - red - green, 1 - red], axis=-1), 0, 1)


fig, axes = plt.subplots(3, len(shown), figsize=(7.4, 3.1))
for col, i in enumerate(shown):
    axes[0, col].imshow(test_overlay[i, :, :, 0], cmap="gray_r", vmin=0, vmax=1)
    axes[0, col].set_title(f"{test_labels[i, 0]} + {test_labels[i, 1]}", fontsize=8)
    axes[1, col].imshow(colour(longest[col, :, :, 0], second_longest[col, :, :, 0]))
    axes[1, col].set_title(f"{ranked[col, 0]}, {ranked[col, 1]}", fontsize=8)
    axes[2, col].imshow(imagined[col, :, :, 0], cmap="gray_r", vmin=0, vmax=1)
    axes[2, col].set_title(f"{ranked[col, 2]}?", fontsize=8)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
for row, name in enumerate(["입력 / input", "재구성 / rebuilt", "없는 숫자 / absent"]):
    axes[row, 0].set_ylabel(name, fontsize=8)
fig.tight_layout(pad=0.3)
glue("fig_segment", fig, display=False)'''

CODE['interval_asserts'] = '''if SETTING == "quick" and not SMOKE:  # margins measured in the quick setting, seeds 0-2
    for name, right in (("CapsNet", both_caps), ("CNN", both_cnn)):
        assert right.mean(axis=1).min() > 0.5, f"the {name} should name both digits of most pairs"
    assert difference.mean < 0, "in the quick setting the CapsNet is behind on average, as in the recorded protocol"'''

CODE['sweeps'] = '''SWEEP_DIGITS = notebook.size(400, smoke=40)  # single test digits, each moved and turned step by step
SHIFTS = np.arange(-4, 5)  # pixels, to the right
ANGLES = np.arange(-30, 31, 10)  # degrees, counter-clockwise
digits, digit_labels = x_test[:SWEEP_DIGITS], y_test[:SWEEP_DIGITS]
glue("sweep_digits", SWEEP_DIGITS)
moved = readout.transform_sweep(digits, lambda images, dx: transforms.place_on_canvas(images, CANVAS, 0, dx), SHIFTS)
centred = transforms.pad_to_canvas(digits, CANVAS)
turned = readout.transform_sweep(centred, transforms.rotate, ANGLES)
print(f"{SWEEP_DIGITS} digits x {len(SHIFTS)} shifts and x {len(ANGLES)} angles: {moved.shape}, {turned.shape}")'''

CODE['features'] = '''cnn = models[("cnn", SEEDS[0])]
penultimate = keras.Model(cnn.input, cnn.get_layer("dense").output)  # the CNN's last hidden layer


def capsule_features(steps):
    """[steps, n, 36, 36, 1] -> the digit capsules [steps, n, 10, 16] and the true class's length [steps, n]."""
    capsules = np.stack([np.asarray(capsnet.digit_capsules(step)) for step in steps])
    return capsules, np.linalg.norm(capsules[:, np.arange(SWEEP_DIGITS), digit_labels], axis=-1)


def cnn_features(steps):
    """[steps, n, 36, 36, 1] -> the CNN's penultimate features [steps, n, units] and its true-class probability."""
    hidden = np.stack([np.asarray(penultimate(step)) for step in steps])
    logits = np.stack([np.asarray(cnn(step)) for step in steps])
    return hidden, 1 / (1 + np.exp(-logits[:, np.arange(SWEEP_DIGITS), digit_labels]))


sweeps = {"shift": (moved, SHIFTS), "rotation": (turned, ANGLES)}
digit_caps, cnn_hidden, presence = {}, {}, {}  # per sweep: [steps, n, 10, 16], [steps, n, units], [steps, n]
for kind, (steps, _) in sweeps.items():
    digit_caps[kind], presence[(kind, "capsnet")] = capsule_features(steps)
    cnn_hidden[kind], presence[(kind, "cnn")] = cnn_features(steps)'''

CODE['fig_presence'] = '''fig, axes = plt.subplots(1, 2, figsize=(7.4, 2.8), sharey=True)
for ax, (kind, (_, values)) in zip(axes, sweeps.items()):
    for name, label, style in (("capsnet", "CapsNet: capsule length", "o-"), ("cnn", "CNN: sigmoid output", "s--")):
        mean, spread = presence[(kind, name)].mean(axis=1), presence[(kind, name)].std(axis=1)
        ax.plot(values, mean, style, label=label)
        ax.fill_between(values, mean - spread, mean + spread, alpha=0.15)
    ax.set_xlabel("shift (px)" if kind == "shift" else "angle (°)")
    ax.set_ylim(0, 1.05)
axes[0].set_ylabel("true digit's score")
axes[0].legend(fontsize=8, loc="lower center")
fig.tight_layout()
glue("fig_presence", fig, display=False)'''

CODE['readout'] = '''def own_capsule(caps):
    """[steps, n, 10, 16] -> [steps, n, 16]: each digit's own class capsule."""
    return caps[:, np.arange(SWEEP_DIGITS), digit_labels]


def decoder_input(caps):
    """[steps, n, 10, 16] -> [steps, n, 160]: the other capsules masked to zero, as the decoder sees them."""
    return (caps * np.eye(10)[digit_labels][None, :, :, None]).reshape(*caps.shape[:2], -1)


def top_components(features, k=16):
    """[steps, n, d] -> [steps, n, k]: projected on the first k principal components (of the fitting half)."""
    flat = features[:, :HALF].reshape(-1, features.shape[-1])
    mean = flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    return (features - mean) @ vt[:k].T


def r2_of_readout(features, values):
    """Fit a linear read-out of the step's value on the first half of the digits; R² on the other half."""
    target = np.repeat(values[:, None], SWEEP_DIGITS, axis=1)  # [steps, n]
    fit_x, test_x = (part.reshape(-1, features.shape[-1]) for part in (features[:, :HALF], features[:, HALF:]))
    return readout.linear_readout(fit_x, target[:, :HALF].ravel(), test_x, target[:, HALF:].ravel())["r2"]


HALF = SWEEP_DIGITS // 2  # the read-out is fitted on these digits and tested on the others
representations = {
    "CapsNet: own capsule (16)": lambda kind: own_capsule(digit_caps[kind]),
    "CapsNet: decoder input (160)": lambda kind: decoder_input(digit_caps[kind]),
    "CNN: 16 principal components": lambda kind: top_components(cnn_hidden[kind]),
    f"CNN: penultimate layer ({DENSE_UNITS})": lambda kind: cnn_hidden[kind],
}
readout_table = pd.DataFrame({
    f"{column} {kind}": [measure(features(kind), values) for features in representations.values()]
    for kind, (_, values) in sweeps.items()
    for column, measure in (("R²", r2_of_readout), ("smoothness", lambda f, v: readout.smoothness(f)))
}, index=list(representations))
readout_table.round(2)'''

CODE['readout_glue'] = '''short = {"CapsNet: own capsule (16)": "own", "CapsNet: decoder input (160)": "masked",
         "CNN: 16 principal components": "cnn16", f"CNN: penultimate layer ({DENSE_UNITS})": "cnn"}
for row, key in short.items():
    for column in readout_table.columns:
        glue(f"{column.split()[0].replace('²', '2')}_{column.split()[1]}_{key}", readout_table.loc[row, column])
presence_drop = {  # how far the true digit's score moves along each sweep, mean over the digits
    (kind, name): glue(f"presence_drop_{kind}_{name}", float((values.max(axis=0) - values.min(axis=0)).mean()))
    for (kind, name), values in presence.items()
}'''

CODE['readout_asserts'] = '''if SETTING == "quick" and not SMOKE:  # margins measured in the quick setting, seeds 0-2
    table = readout_table.rename(index=short)
    for kind in sweeps:
        assert table.loc["masked", f"R² {kind}"] - table.loc["own", f"R² {kind}"] > 0.2, \\
            "each class's capsule codes the pose in its own frame: one read-out per class reads far more"
        assert table.loc["own", f"smoothness {kind}"] < table.loc["cnn", f"smoothness {kind}"] - 0.2, \\
            "the capsule's path bends less than the CNN's features along the sweep"
    assert min(table.loc["masked", "R² shift"], table.loc["cnn", "R² shift"]) > 0.5, \\
        "both networks' representations carry most of a shift linearly"
    for name in ("capsnet", "cnn"):
        assert presence_drop[("rotation", name)] > 2 * presence_drop[("shift", name)], \\
            f"{name}: presence should stay nearer level over trained shifts than under rotation"'''

CODE['memory'] = '''paper_capsnet = build_capsnet("paper")  # the paper's MNIST CapsNet, built, not trained
w_ij = paper_capsnet.get_layer("digit_caps").kernel  # one 16x8 matrix per (primary, digit) capsule pair
n_primary, n_digits, out_dim, in_dim = w_ij.shape
glue("w_ij_weights", int(np.prod(w_ij.shape)))
glue("w_ij_share", 100 * np.prod(w_ij.shape) / paper_capsnet.count_params())
glue("w_ij_1000", n_primary * 1000 * out_dim * in_dim)
glue("n_primary", n_primary)
print(f"W_ij: {n_primary:,} x {n_digits} matrices of {out_dim}x{in_dim} = {np.prod(w_ij.shape):,} weights, "
      f"{np.prod(w_ij.shape) / paper_capsnet.count_params():.0%} of the model; "
      f"for 1,000 classes: {n_primary * 1000 * out_dim * in_dim:,}")'''

CODE['timing'] = '''chapter_seconds = glue("chapter_seconds", time.perf_counter() - chapter_start)
print(f"chapter body ran in {chapter_seconds:.0f} s ({SETTING} setting; {training_seconds:.0f} s of it training)")'''

CODE['recorded'] = '''recorded = recorded_results("multimnist_comparison")  # made by benchmarks/multimnist_comparison.py
made, protocol, rec = recorded["provenance"], recorded["protocol"], recorded["results"]
rec_correct = {name: unpack_bits(rec["models"][name]["both_right_bits"], tuple(rec["shape"]))  # [seeds, pairs]
               for name in ("capsnet", "cnn")}
again = paired_bootstrap(rec_correct["capsnet"], rec_correct["cnn"])  # the file's interval, recomputed here
assert abs(again.low - rec["comparison"]["low"]) < 1e-9 and abs(again.high - rec["comparison"]["high"]) < 1e-9
glue("rec_date", made["date"][:10])
glue("rec_machine", made["machine"].split(",")[0])
glue("rec_minutes", made["wall_seconds"] / 60)
glue("rec_seeds", len(protocol["seeds"]))
glue("rec_train_pairs", protocol["pairs"]["train"])
glue("rec_test_pairs", protocol["pairs"]["test"])
glue("rec_max_epochs", protocol["max_epochs"])


def mean_sd(values, scale=100.0):
    """'61.2 ± 1.3': mean and standard deviation over seeds."""
    return f"{scale * np.mean(values):.1f} ± {scale * np.std(values, ddof=1):.1f}"


models_rec = rec["models"]
pd.DataFrame({
    "both digits right (%)": [mean_sd(models_rec[m]["both_right_rate"]) for m in ("capsnet", "cnn")],
    "epochs trained": [f"{np.mean(models_rec[m]['epochs']):.1f}" for m in ("capsnet", "cnn")],
    "best epoch": [f"{np.mean(models_rec[m]['best_epoch']):.1f}" for m in ("capsnet", "cnn")],
    "minutes per run": [f"{np.mean(models_rec[m]['train_seconds']) / 60:.1f}" for m in ("capsnet", "cnn")],
}, index=["CapsNet", "CNN (matched)"])'''

CODE['recorded_glue'] = '''comparison = rec["comparison"]
glue("rec_both_capsnet", 100 * np.mean(models_rec["capsnet"]["both_right_rate"]))
glue("rec_both_cnn", 100 * np.mean(models_rec["cnn"]["both_right_rate"]))
glue("rec_diff", 100 * comparison["mean"])
glue("rec_low", 100 * comparison["low"])
glue("rec_high", 100 * comparison["high"])
glue("rec_closer", 100 * np.mean(models_rec["capsnet"]["closer_to_own_rate"]))
stopped = [e < protocol["max_epochs"] for m in ("capsnet", "cnn") for e in models_rec[m]["epochs"]]
glue("rec_stopped", sum(stopped))
glue("rec_runs", len(stopped))
glue("rec_pairs_per_digit", 2 * protocol["pairs"]["train"] / protocol["digits"]["fit"])  # appearances per digit
print(f"CapsNet - CNN, both digits right: {100 * comparison['mean']:+.1f} points, 95% interval "
      f"[{100 * comparison['low']:+.1f}, {100 * comparison['high']:+.1f}]; {sum(stopped)} of {len(stopped)} runs stopped early")'''

CODE['recorded_asserts'] = '''# The recorded file holds the same numbers in every setting, so these hold in smoke runs too.
assert comparison["high"] < 0, "trained to convergence on this data, the matched CNN names both digits more often"
assert all(rate > 0.9 for rate in models_rec["capsnet"]["closer_to_own_rate"]), \\
    "decoded one capsule at a time, the CapsNet pulls most overlays apart in every seed"'''
