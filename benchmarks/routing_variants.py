"""What makes routing by agreement decisive in a trained CapsNet, and what that buys.

    python benchmarks/routing_variants.py            # the quick CapsNet, 5 seeds (~20 min, 2 cores)
    python benchmarks/routing_variants.py --seeds 2 --epochs 2 --out /tmp/r.json   # a smoke run

Trains chapter 6's quick CapsNet (4,000 training digits, 12 epochs, the chapter's schedule) once
per variant and seed, on the 5,000-digit MNIST sample (``load_mnist("sample")``: 4,000 training and
1,000 test digits, the data the recorded numbers were made with on a machine without network), the variants differing only in how routing is done:

* ``paper``: 3 iterations, agreements added as they are, gradients through the last sum only
  (the book's default, as in CapsNet-Keras);
* ``uniform``: 1 iteration (every coupling coefficient 1/10: no routing at all);
* ``scale10``: agreements multiplied by 10 before they enter the softmax (inverse temperature);
* ``through``: gradients through every iteration, as in the authors' released code;
* ``init01``: ``W_ij`` drawn from N(0, 0.1²) instead of Glorot (much larger predictions).

Every variant of one seed sees the same initial weights where shapes allow, the same batches and
the same shifts. Each model is scored on the test digits, clean and under an affNIST-style
random affine change (rotation up to 20 degrees, shear up to 0.1, scale 0.8-1.2, shift up to
2 px, on the 28x28 canvas), and its routing is measured on the clean test digits (length-weighted
entropy of the coupling coefficients, 1 = uniform, and the largest coefficient). Differences to
``paper`` are paired over seeds and digits, with 95% bootstrap intervals
(:func:`capsnet_book.stats.paired_bootstrap`).

The result file (``capsnet_book/results/``, installed with the package so that chapter 6 can
read it on Colab too, via :func:`capsnet_book.recorded.recorded_results`) records how it was made
(command, commit, date, versions, machine) and a hash of the code that made it;
``tests/test_recorded_results.py`` fails when that code has changed since, so the numbers
chapter 6 shows cannot silently drift from the code.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import RESULTS, ROOT, write_result  # noqa: E402

RESULT = RESULTS / "routing_variants.json"  # ships with the package (Colab)
# The code whose behaviour the numbers depend on; a change in any of them makes them stale.
HARNESS = ["benchmarks/routing_variants.py", "capsnet_book/capsnet.py", "capsnet_book/capsules.py",
           "capsnet_book/datasets.py", "capsnet_book/training.py", "capsnet_book/multimnist.py",
           "capsnet_book/routing_analysis.py", "capsnet_book/stats.py", "capsnet_book/transforms.py",
           "capsnet_book/data.py"]
VARIANTS = {
    "paper": {"label": "paper routing (r=3)", "options": {}},
    "uniform": {"label": "uniform coupling (r=1)", "options": {"routing_iterations": 1}},
    "scale10": {"label": "logits x10 (r=3)", "options": {"logit_scale": 10.0}},
    "through": {"label": "gradients through routing (r=3)", "options": {"gradient_through_routing": True}},
    "init01": {"label": "W ~ N(0, 0.1^2) (r=3)", "options": {"digit_caps_initializer": "init01"}},
}
N_TRAIN, BATCH_SIZE, LEARNING_RATE, DECAY, MAX_SHIFT = 4000, 32, 2e-3, 0.9, 2



def _build(options: dict):
    import keras

    from capsnet_book.capsnet import build_capsnet

    options = dict(options)
    if options.get("digit_caps_initializer") == "init01":
        options["digit_caps_initializer"] = keras.initializers.RandomNormal(stddev=0.1)
    iterations = options.pop("routing_iterations", 3)
    return build_capsnet("quick", iterations, **options)


def run_one(options: dict, seed: int, data: dict, epochs: int) -> dict:
    """Train one variant with one seed; score it and measure its routing."""
    import keras
    import numpy as np

    from capsnet_book.datasets import ShiftedDigits
    from capsnet_book.routing_analysis import routing_report
    from capsnet_book.training import Schedule, fit

    keras.utils.set_random_seed(seed)
    model = _build(options)
    batches = ShiftedDigits(data["x_train"], data["y_train"], BATCH_SIZE, MAX_SHIFT, seed=seed)
    log = fit(model, batches, Schedule(learning_rate=LEARNING_RATE, epochs=epochs, decay_per_epoch=DECAY))
    result = {"train_seconds": log.seconds}
    for name in ("clean", "affine"):
        report = routing_report(model, data[f"x_{name}"])
        hits = report["lengths"].argmax(axis=1) == data["y_test"]
        result[f"correct_{name}"] = "".join("1" if hit else "0" for hit in hits)  # compact in the file
        if name == "clean":
            last = report["per_iteration"][-1]
            result["entropy"], result["max_coupling"] = last["entropy"], last["max_coupling"]
            result["agreement_spread_median"] = float(np.median(report["agreement_spread"]))
    return result


def load_data(seed: int = 0) -> dict:
    from capsnet_book import transforms
    from capsnet_book.data import load_mnist, subsample

    (x_train, y_train), (x_test, y_test) = load_mnist("sample")
    x_train, y_train = subsample(x_train, y_train, N_TRAIN, seed=seed)
    affine = transforms.random_affine(x_test, seed=seed + 1, size=28, max_translation=2)
    return {"x_train": x_train, "y_train": y_train, "x_clean": x_test, "x_affine": affine, "y_test": y_test}


def correct_matrix(seeds: list[dict], test: str):
    """``[n_seeds, n_digits]`` of 0/1: which test digits each seed's model got right."""
    import numpy as np

    return np.array([[c == "1" for c in run[f"correct_{test}"]] for run in seeds], dtype=float)


def summarise(runs: dict) -> dict:
    """Per variant: means over seeds, and paired differences to ``paper`` with 95% intervals."""
    import numpy as np

    from capsnet_book.stats import paired_bootstrap

    summary = {}
    for name, seeds in runs.items():
        row = {"label": VARIANTS[name]["label"]}
        for key in ("entropy", "max_coupling", "agreement_spread_median", "train_seconds"):
            row[key] = float(np.mean([r[key] for r in seeds]))
        for test in ("clean", "affine"):
            correct = correct_matrix(seeds, test)
            row[f"accuracy_{test}"] = float(correct.mean())
            if name != "paper":
                base = correct_matrix(runs["paper"], test)
                diff = paired_bootstrap(correct, base)
                row[f"vs_paper_{test}"] = {"mean": diff.mean, "low": diff.low, "high": diff.high}
        summary[name] = row
    return summary



def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    if "paper" not in args.variants:
        parser.error("the variants are compared with 'paper': include it")
    sys.path.insert(0, str(ROOT))
    from capsnet_book import notebook

    notebook.quiet_logs()
    started = time.perf_counter()
    data = load_data()
    runs: dict[str, list] = {name: [] for name in args.variants}
    for seed in range(args.seeds):
        for name in args.variants:
            result = run_one(VARIANTS[name]["options"], seed, data, args.epochs)
            runs[name].append(result)
            clean, affine = (result[f"correct_{t}"] for t in ("clean", "affine"))
            print(f"seed {seed} {name:8s} clean {clean.count('1') / len(clean):.3f} "
                  f"affine {affine.count('1') / len(affine):.3f} "
                  f"entropy {result['entropy']:.3f} ({result['train_seconds']:.0f} s)", flush=True)
    write_result(args.out, Path(__file__).name, argv, HARNESS, started, {
              "setting": {"n_train": N_TRAIN, "epochs": args.epochs, "seeds": args.seeds,
                          "n_test": int(len(data["y_test"])), "batch_size": BATCH_SIZE,
                          "learning_rate": LEARNING_RATE, "decay_per_epoch": DECAY, "max_shift": MAX_SHIFT},
              "summary": summarise(runs), "runs": runs})
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
