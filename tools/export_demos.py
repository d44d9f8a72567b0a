"""Export what the site's three interactive figures need from chapters 1, 3 and 6.

    python tools/export_demos.py      # about 3 min on a 2-core CPU (two small CNNs, one quick CapsNet)

Writes ``_static/demos/data/{conv_shift,rotate_digit,capsule_pose}.js`` (a JSON header and a
base64 little-endian payload each, see :mod:`capsnet_book.demos`) and ``provenance.json`` beside
them: command, commit, date, versions, machine and the hash of the code the files depend on
(:data:`HARNESS`); ``tests/test_demos.py`` fails when that code changes, until this script is run again.

What each figure gets, made as its chapter makes it in the quick setting with seed 0:

* ``conv_shift`` (chapter 1): the chapter's first measured digit, its random 5x5 kernel (drawn
  from the chapter's generator in the chapter's order), the 5x5 binomial blur it compares with,
  and a 5x5 edge detector;
* ``rotate_digit`` (chapter 3): the baseline CNN and the CNN trained on rotations of up to 45
  degrees (4,000 digits, 3 epochs), and the first test digit of each class;
* ``capsule_pose`` (chapter 6): the quick CapsNet's decoder (4,000 digits, 12 epochs), and for each
  class the first correctly classified test digit whose capsule is longer than 0.9: its true-class
  capsule, the spread of each dimension over the correctly classified test digits, and the
  dimensions ordered by how much they move the reconstruction (as the chapter's figure).

The large dense matrices are stored as int8 (budget: 2 MB for all figures); the script measures
what that costs against the trained float32 models and records it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from provenance import harness_hash as _hash, provenance  # noqa: E402

OUT = ROOT / "_static" / "demos" / "data"
PROVENANCE = OUT / "provenance.json"
HARNESS = [
    "tools/export_demos.py", "capsnet_book/demos.py", "capsnet_book/data.py", "capsnet_book/transforms.py",
    "capsnet_book/equivariance.py", "capsnet_book/sampling.py", "capsnet_book/cnn.py", "capsnet_book/capsnet.py", "capsnet_book/capsules.py",
    "capsnet_book/models.py", "capsnet_book/datasets.py", "capsnet_book/training.py",
]
SEED = 0
BUDGET_BYTES = 2_000_000


def harness_hash() -> str:
    """SHA-256 of the code the exported files depend on (:data:`HARNESS`)."""
    return _hash(HARNESS, ROOT)


def conv_shift(x_train, y_train) -> tuple[dict, dict]:
    """Chapter 1: its first measured digit and its kernels."""
    import numpy as np

    from capsnet_book.data import subsample

    rng = np.random.default_rng(SEED)
    digits, labels = subsample(x_train, y_train, 100, seed=SEED)  # the chapter's N_DIGITS (quick)
    rng.uniform(0, np.pi)  # the chapter draws its synthetic image's angle first ...
    random_kernel = rng.normal(size=(5, 5)) / 5  # ... then its kernel
    binomial = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    edge = np.outer(binomial, [-1.0, -2.0, 0.0, 2.0, 1.0]) / 2  # a vertical edge, smoothed along it
    arrays = {"digit": digits[0, :, :, 0], "kernel_random": random_kernel,
              "kernel_blur": np.outer(binomial, binomial), "kernel_edge": edge}
    return {"label": int(labels[0]), "kernels": ["random", "blur", "edge"]}, arrays


def rotate_digit(x_train, y_train, x_test, y_test) -> tuple[dict, dict]:
    """Chapter 3: the baseline and the rotation-augmented CNN, and one test digit per class."""
    import keras
    import numpy as np

    from capsnet_book import demos, transforms
    from capsnet_book.cnn import train_classifier
    from capsnet_book.data import subsample
    from capsnet_book.models import build_baseline_cnn

    x_fit, y_fit = subsample(x_train, y_train, 4_000, seed=SEED)
    canvas = transforms.pad_to_canvas(x_fit, 40)
    x_eval, y_eval = x_test[:1_000], y_test[:1_000]

    def augment_rotation(x, epoch):
        return transforms.random_rotate(x, 45, seed=SEED * 1000 + epoch)

    meta, arrays = {"angles_checked": list(range(0, 181, 15)), "models": {}}, {}
    for name, augment in (("baseline", None), ("augmented", augment_rotation)):
        keras.utils.set_random_seed(SEED)
        model = build_baseline_cnn("quick", input_shape=(40, 40, 1))
        train_classifier(model, canvas, y_fit, epochs=3, augment=augment)
        weights = {f"{name}/{layer.name}/{kind}": w for layer in model.layers
                   for kind, w in zip(("kernel", "bias"), layer.get_weights())}
        stored = demos.decode_arrays(*demos.encode_arrays(weights))
        exported = build_baseline_cnn("quick", input_shape=(40, 40, 1))
        exported.set_weights([stored[k] for k in weights])
        same, accuracy = [], {}
        for angle in meta["angles_checked"]:
            x = transforms.rotate(transforms.pad_to_canvas(x_eval, 40), angle)
            a = np.asarray(model.predict(x, verbose=0, batch_size=500)).argmax(1)
            b = np.asarray(exported.predict(x, verbose=0, batch_size=500)).argmax(1)
            same.append(float(np.mean(a == b)))
            accuracy[str(angle)] = float(np.mean(b == y_eval))
        meta["models"][name] = {"accuracy_by_angle": accuracy, "same_class_as_float32": min(same)}
        arrays |= weights
        print(f"{name}: clean accuracy {accuracy['0']:.3f}; the stored weights give the float32 model's class "
              f"on {min(same):.1%} of the test digits or more at every angle", flush=True)
    first = [int(np.flatnonzero(y_eval == k)[0]) for k in range(10)]
    arrays["digits"] = x_eval[first, :, :, 0]
    meta |= {"test_index": first, "labels": list(range(10)), "layers": ["conv1_1", "pool1", "conv2_1", "pool2",
                                                                       "flatten", "dense", "logits"]}
    return meta, arrays


def capsule_pose(x_train, y_train, x_test, y_test) -> tuple[dict, dict]:
    """Chapter 6: the quick CapsNet's decoder and one confidently classified test digit per class."""
    import keras
    import numpy as np
    import tensorflow as tf

    from capsnet_book import demos
    from capsnet_book.data import subsample
    from capsnet_book.datasets import ShiftedDigits
    from capsnet_book.models import build_capsnet
    from capsnet_book.training import Schedule, fit

    keras.utils.set_random_seed(SEED)
    x_fit, y_fit = subsample(x_train, y_train, 4000, seed=SEED)
    model = build_capsnet("quick", routing_iterations=3)
    # The chapter's quick setting: batches of 32 shifted by up to 2 pixels, Adam at 2e-3 decayed by 0.9 per epoch.
    fit(model, ShiftedDigits(x_fit, y_fit, 32, 2, seed=SEED), Schedule(learning_rate=2e-3, epochs=12, decay_per_epoch=0.9),
        log=True)

    digit_capsules = tf.function(model.digit_capsules)  # one graph for every batch
    capsules = np.concatenate([np.asarray(digit_capsules(x_test[i : i + 500]))
                               for i in range(0, len(x_test), 500)])  # [n, 10, 16]
    lengths = np.linalg.norm(capsules, axis=-1)
    correct = np.flatnonzero(lengths.argmax(1) == y_test)
    spread = capsules[correct, y_test[correct]].std(axis=0)  # [16]
    confident = correct[lengths[correct].max(axis=1) > 0.9]
    chosen = [int(confident[y_test[confident] == k][0]) for k in range(10)]
    default = int(y_test[confident[0]])  # the class of the chapter's example (its first confident digit)

    dense = [layer for layer in model.decoder.layers if layer.get_weights()]
    weights = {f"decoder/{i}/{kind}": w for i, layer in enumerate(dense)
               for kind, w in zip(("kernel", "bias"), layer.get_weights())}
    stored = demos.decode_arrays(*demos.encode_arrays(weights))
    steps_sd = np.linspace(-2.0, 2.0, 9)
    order, effects, pixel_gap = [], [], 0.0
    for k, index in enumerate(chosen):
        base = np.repeat(capsules[index][None], 16 * len(steps_sd), axis=0)
        for d in range(16):
            base[d * len(steps_sd) : (d + 1) * len(steps_sd), k, d] += steps_sd * spread[d]
        labels = np.eye(10, dtype="float32")[[k] * len(base)]
        tweaked = np.asarray(model.decode(base, labels)).reshape(16, len(steps_sd), 784)
        effect = np.abs(tweaked[:, -1] - tweaked[:, 0]).mean(axis=1)
        order.append([int(d) for d in np.argsort(-effect)])
        effects.append([round(float(e), 5) for e in effect])
        # The stored decoder against the trained one, on the same capsules.
        h = base.reshape(len(base), -1) * np.repeat(labels, 16, axis=1)
        for i in range(len(dense)):
            h = h @ stored[f"decoder/{i}/kernel"] + stored[f"decoder/{i}/bias"]
            h = np.maximum(h, 0) if i < len(dense) - 1 else 1 / (1 + np.exp(-h))
        pixel_gap = max(pixel_gap, float(np.abs(h - tweaked.reshape(len(base), 784)).max()))
    arrays = dict(weights)
    arrays["capsules"] = capsules[chosen, range(10)]  # [10, 16]: each digit's true-class capsule
    arrays["spread"] = spread
    arrays["digits"] = x_test[chosen, :, :, 0]
    meta = {"test_index": chosen, "default_class": default, "steps_sd": [-2.0, 2.0], "order": order,
            "effect": effects, "max_pixel_change_by_storage": pixel_gap,
            "test_accuracy": float(np.mean(lengths.argmax(1) == y_test)), "n_test": len(y_test)}
    print(f"CapsNet: test accuracy {meta['test_accuracy']:.2%}; the stored decoder draws every pixel within "
          f"{pixel_gap:.4f} of the trained one", flush=True)
    return meta, arrays


def main(argv: list[str]) -> int:
    from capsnet_book.notebook import quiet_logs

    quiet_logs()
    from capsnet_book import demos
    from capsnet_book.data import load_mnist

    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    OUT.mkdir(parents=True, exist_ok=True)
    figures = {
        "conv_shift": conv_shift(x_train, y_train),
        "rotate_digit": rotate_digit(x_train, y_train, x_test, y_test),
        "capsule_pose": capsule_pose(x_train, y_train, x_test, y_test),
    }
    sizes = {}
    for name, (meta, arrays) in figures.items():
        sizes[name] = demos.write_demo_script(OUT / f"{name}.js", name, meta, arrays)
    total = sum(sizes.values())
    assert total < BUDGET_BYTES, f"the figures' weights take {total:,} bytes, over the budget of {BUDGET_BYTES:,}"
    record = {
        "provenance": provenance("../tools/export_demos.py", argv, HARNESS, time.perf_counter() - start),
        "seed": SEED, "data": {"n_train": len(x_train), "n_test": len(x_test)},
        "payload_bytes": sizes, "payload_bytes_total": total,
        "script_bytes": {name: (OUT / f"{name}.js").stat().st_size for name in figures},
        "figures": {name: meta for name, (meta, _) in figures.items()},
    }
    record["provenance"]["command"] = "python tools/export_demos.py " + " ".join(argv)
    record["provenance"]["harness_sha256"] = harness_hash()
    PROVENANCE.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {', '.join(f'{n}.js ({b / 1e3:.0f} kB)' for n, b in sizes.items())}: {total / 1e6:.2f} MB of "
          f"weights, in {record['provenance']['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
