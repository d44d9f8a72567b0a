"""What makes routing by agreement decisive in a trained CapsNet, and what that buys.

    python benchmarks/routing_variants.py            # the quick CapsNet, 5 seeds, all 10,000 test digits
    python benchmarks/routing_variants.py --seeds 3 --n-test 5000   # how the recorded file was made (47 min, 2 shared cores)
    python benchmarks/routing_variants.py --seeds 2 --epochs 1 --out /tmp/r.json   # a smoke run

Trains chapter 6's quick CapsNet (the same 4,000 training digits drawn from the full MNIST of
``load_mnist()`` for every seed, 12 epochs, the chapter's schedule) once per variant and seed, the
variants differing only in how routing is done:

* ``paper``: 3 iterations, agreements added as they are, gradients through the last sum only
  (the book's default, as in CapsNet-Keras);
* ``uniform``: 1 iteration (every coupling coefficient 1/10: no routing at all);
* ``scale10``: agreements multiplied by 10 before they enter the softmax (inverse temperature);
* ``through``: gradients through every iteration, as in the authors' released code;
* ``init01``: ``W_ij`` drawn from N(0, 0.1²) instead of Glorot (much larger predictions);
* ``bias``: a learned bias added to every ``s_j`` before the squash, as in the authors' released
  code (:func:`capsnet_book.routing_analysis.build_capsnet_with_bias`).

Every variant of one seed sees the same initial weights where shapes allow, the same batches and
the same shifts. Each model is scored on the first ``--n-test`` MNIST test digits (default all 10,000), clean and under an
affNIST-style random affine change (rotation up to 20 degrees, shear up to 0.1, scale 0.8-1.2,
shift up to 2 px, on the 28x28 canvas). With the same trained weights, every test digit is routed
three ways, r = 1 (uniform coupling), r = 3 at the model's logit scale and r = 3 with logits x10,
and the output-level effect of routing is measured against r = 1: the rate of prediction flips,
the change of the true class's length and of the margin (true length minus the longest other),
with 95% bootstrap intervals over seeds and digits. The coupling is measured on the first 1,000
clean test digits (entropy, 1 = uniform, and the largest coefficient, averaged over the primary
capsules weighted by the length of their predictions, and by their own length for comparison).
Differences in accuracy to ``paper`` are paired over seeds and digits, with 95% bootstrap
intervals (:func:`capsnet_book.stats.paired_bootstrap`).

The explanation of near-uniform coupling predicts that the agreement spread shrinks roughly as
1/n_in. To test it, each seed also trains the quick net (288 primary capsules) and the paper-size
net (1,152) for a short run (``--short-epochs`` on the first 2,000 of the training digits, the same
schedule; the first ``--size-seeds`` seeds, the paper-size net being slow on a CPU) and measures the median
agreement spread and the mean prediction length on 500 clean test digits, at initialisation and
after that training.

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
           "capsnet_book/data.py", "capsnet_book/recorded.py", "benchmarks/provenance.py"]
VARIANTS = {
    "paper": {"label": "paper routing (r=3)", "options": {}},
    "uniform": {"label": "uniform coupling (r=1)", "options": {"routing_iterations": 1}},
    "scale10": {"label": "logits x10 (r=3)", "options": {"logit_scale": 10.0}},
    "through": {"label": "gradients through routing (r=3)", "options": {"gradient_through_routing": True}},
    "init01": {"label": "W ~ N(0, 0.1^2) (r=3)", "options": {"digit_caps_initializer": "init01"}},
    "bias": {"label": "bias on s_j (r=3)", "options": {"bias_on_s": True}},
}
# Routings applied to the same trained weights at test time, compared with r = 1.
TEST_ROUTINGS = {"r1": (1, None), "r3": (3, None), "r3x10": (3, 10.0)}  # None: the model's own logit scale
EFFECTS = ("flip", "true_length", "margin")
N_COUPLING, N_SPREAD = 1000, 500  # test digits for the coupling measures and for the size trend
N_SHORT = 2000  # training digits (the first of the 4,000) of the short training of both net sizes
N_TRAIN, BATCH_SIZE, LEARNING_RATE, DECAY, MAX_SHIFT = 4000, 32, 2e-3, 0.9, 2



def _build(options: dict):
    import keras

    from capsnet_book.capsnet import build_capsnet

    from capsnet_book.routing_analysis import build_capsnet_with_bias

    options = dict(options)
    if options.get("digit_caps_initializer") == "init01":
        options["digit_caps_initializer"] = keras.initializers.RandomNormal(stddev=0.1)
    iterations = options.pop("routing_iterations", 3)
    preset = options.pop("preset", "quick")
    build = build_capsnet_with_bias if options.pop("bias_on_s", False) else build_capsnet
    return build(preset, iterations, **options)


def _test_routings(model) -> dict:
    from capsnet_book.capsules import Routing

    own_scale = model.digit_caps.routing.logit_scale
    return {name: Routing(iterations, own_scale if scale is None else scale)
            for name, (iterations, scale) in TEST_ROUTINGS.items()}


def run_one(options: dict, seed: int, data: dict, epochs: int) -> tuple[dict, dict]:
    """Train one variant with one seed; score it, measure its routing and routing's effect.

    Returns the result to record and, not recorded, the per-digit effects
    ``{(test, routing, measure): [n_test]}`` for the intervals over seeds and digits.
    """
    import keras
    import numpy as np

    from capsnet_book.datasets import ShiftedDigits
    from capsnet_book.recorded import pack_bits
    from capsnet_book.routing_analysis import output_effect, routed_lengths, routing_report
    from capsnet_book.training import Schedule, fit

    keras.utils.set_random_seed(seed)
    model = _build(options)
    batches = ShiftedDigits(data["x_train"], data["y_train"], BATCH_SIZE, MAX_SHIFT, seed=seed)
    log = fit(model, batches, Schedule(learning_rate=LEARNING_RATE, epochs=epochs, decay_per_epoch=DECAY))
    result: dict = {"train_seconds": log.seconds}
    effects: dict = {}
    own = "r1" if model.digit_caps.routing.iterations == 1 else "r3"
    for test in ("clean", "affine"):
        lengths = routed_lengths(model, data[f"x_{test}"], _test_routings(model))
        hits = lengths[own].argmax(axis=1) == data["y_test"]
        result[f"correct_{test}"] = pack_bits(hits)  # compact in the file: recorded.unpack_bits
        for name in ("r3", "r3x10"):
            effect = output_effect(lengths["r1"], lengths[name], data["y_test"])
            for measure in EFFECTS:
                effects[(test, name, measure)] = effect[measure]
                result[f"{test}_{name}_{measure}"] = float(effect[measure].mean())
    report = routing_report(model, data["x_clean"][:N_COUPLING])
    last, by_input = report["per_iteration"][-1], report["per_iteration_by_input_length"][-1]
    result["entropy"], result["max_coupling"] = last["entropy"], last["max_coupling"]
    result["entropy_by_input_length"] = by_input["entropy"]
    result["agreement_spread_median"] = float(np.median(report["agreement_spread"]))
    result["prediction_length_mean"] = float(report["prediction_lengths"].mean())
    return result, effects


def spread_by_size(seed: int, data: dict, epochs: int) -> dict:
    """Median agreement spread and mean prediction length of the quick and the paper-size net,
    at initialisation and after ``epochs`` short epochs (same digits, schedule and seed)."""
    import keras
    import numpy as np

    from capsnet_book.datasets import ShiftedDigits
    from capsnet_book.routing_analysis import routing_report
    from capsnet_book.training import Schedule, fit

    def measure(model) -> dict:
        spreads, lengths = [], []
        images = data["x_clean"][:N_SPREAD]
        for start in range(0, len(images), 100):  # the paper net's u_hat: 100 x 1,152 x 10 x 16 floats a batch
            report = routing_report(model, images[start : start + 100])
            spreads.append(report["agreement_spread"].ravel())
            lengths.append(report["prediction_lengths"].ravel())
        return {"spread_median": float(np.median(np.concatenate(spreads))),
                "prediction_length_mean": float(np.concatenate(lengths).mean())}

    out = {}
    for preset in ("quick", "paper"):
        keras.utils.set_random_seed(seed)
        model = _build({"preset": preset})
        row = {"n_in": int(model.digit_caps.kernel.shape[0]), "init": measure(model)}
        batches = ShiftedDigits(data["x_train"][:N_SHORT], data["y_train"][:N_SHORT], BATCH_SIZE, MAX_SHIFT, seed=seed)
        log = fit(model, batches, Schedule(learning_rate=LEARNING_RATE, epochs=epochs, decay_per_epoch=DECAY))
        row["trained"], row["train_seconds"] = measure(model), log.seconds
        out[preset] = row
    return out


def load_data(seed: int = 0, n_test: int | None = None) -> dict:
    from capsnet_book import transforms
    from capsnet_book.data import load_mnist, subsample

    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train, y_train = subsample(x_train, y_train, N_TRAIN, seed=seed)
    if n_test is not None:
        x_test, y_test = x_test[:n_test], y_test[:n_test]
    affine = transforms.random_affine(x_test, seed=seed + 1, size=28, max_translation=2)
    return {"x_train": x_train, "y_train": y_train, "x_clean": x_test, "x_affine": affine, "y_test": y_test}


def correct_matrix(seeds: list[dict], test: str, n_digits: int):
    """``[n_seeds, n_digits]`` of 0/1: which test digits each seed's model got right."""
    import numpy as np

    from capsnet_book.recorded import unpack_bits

    return np.array([unpack_bits(run[f"correct_{test}"], (n_digits,)) for run in seeds], dtype=float)


def _interval(values) -> dict:
    """Mean over seeds and digits of ``values [n_seeds, n_digits]`` with its 95% bootstrap interval."""
    import numpy as np

    from capsnet_book.stats import paired_bootstrap

    values = np.asarray(values, dtype=float)
    diff = paired_bootstrap(values, np.zeros_like(values), n_boot=1000)
    return {"mean": diff.mean, "low": diff.low, "high": diff.high}


def summarise(runs: dict, effects: dict, n_digits: int) -> dict:
    """Per variant: means over seeds, routing's effect at the output and paired accuracy
    differences to ``paper``, with 95% intervals."""
    import numpy as np

    from capsnet_book.stats import paired_bootstrap

    summary: dict = {}
    for name, seeds in runs.items():
        row = {"label": VARIANTS[name]["label"]}
        for key in ("entropy", "max_coupling", "entropy_by_input_length", "agreement_spread_median",
                    "prediction_length_mean", "train_seconds"):
            row[key] = float(np.mean([r[key] for r in seeds]))
        for test in ("clean", "affine"):
            correct = correct_matrix(seeds, test, n_digits)
            row[f"accuracy_{test}"] = float(correct.mean())
            if name != "paper":
                base = correct_matrix(runs["paper"], test, n_digits)
                diff = paired_bootstrap(correct, base)
                row[f"vs_paper_{test}"] = {"mean": diff.mean, "low": diff.low, "high": diff.high}
            for routing in ("r3", "r3x10"):
                row[f"{test}_{routing}_vs_r1"] = {
                    measure: _interval([e[(test, routing, measure)] for e in effects[name]])
                    for measure in EFFECTS}
        summary[name] = row
    return summary


def summarise_sizes(sizes: list[dict]) -> dict:
    """Spread and prediction length of both net sizes, means over seeds, and the ratio of spreads."""
    import numpy as np

    size_rows: dict = {}
    for preset in ("quick", "paper"):
        row = {"n_in": sizes[0][preset]["n_in"]}
        for stage in ("init", "trained"):
            for key in ("spread_median", "prediction_length_mean"):
                row[f"{stage}_{key}"] = float(np.mean([s[preset][stage][key] for s in sizes]))
        row["train_seconds"] = float(np.mean([s[preset]["train_seconds"] for s in sizes]))
        size_rows[preset] = row
    ratios = [s["quick"]["trained"]["spread_median"] / s["paper"]["trained"]["spread_median"] for s in sizes]
    size_rows["trained_spread_ratio"] = {"per_seed": ratios, "min": float(min(ratios)), "max": float(max(ratios)),
                                         "n_in_ratio": size_rows["paper"]["n_in"] / size_rows["quick"]["n_in"]}
    return size_rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--short-epochs", type=int, default=1, help="training of the two net sizes for the spread trend")
    parser.add_argument("--size-seeds", type=int, default=3, help="seeds of the spread trend (the first ones)")
    parser.add_argument("--n-test", type=int, default=None, help="test digits (default: all 10,000)")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    if "paper" not in args.variants:
        parser.error("the variants are compared with 'paper': include it")
    sys.path.insert(0, str(ROOT))
    from capsnet_book import notebook

    notebook.quiet_logs()
    started = time.perf_counter()
    data = load_data(n_test=args.n_test)
    n_digits = int(len(data["y_test"]))
    runs: dict[str, list] = {name: [] for name in args.variants}
    effects: dict[str, list] = {name: [] for name in args.variants}
    sizes = []
    for seed in range(args.seeds):
        for name in args.variants:
            result, effect = run_one(VARIANTS[name]["options"], seed, data, args.epochs)
            runs[name].append(result)
            effects[name].append(effect)
            print(f"seed {seed} {name:8s} clean flips r3 {result['clean_r3_flip']:.4f} "
                  f"x10 {result['clean_r3x10_flip']:.4f} entropy {result['entropy']:.3f} "
                  f"({result['train_seconds']:.0f} s, {time.perf_counter() - started:.0f} s in all)", flush=True)
        if seed >= args.size_seeds:
            continue
        sizes.append(spread_by_size(seed, data, args.short_epochs))
        print(f"seed {seed} spread quick {sizes[-1]['quick']['trained']['spread_median']:.4f} "
              f"paper {sizes[-1]['paper']['trained']['spread_median']:.4f} "
              f"({sizes[-1]['paper']['train_seconds']:.0f} s)", flush=True)
    write_result(args.out, Path(__file__).name, argv, HARNESS, started, {
              "setting": {"n_train": N_TRAIN, "epochs": args.epochs, "seeds": args.seeds,
                          "n_test": n_digits, "n_coupling": N_COUPLING, "n_spread": N_SPREAD,
                          "short_epochs": args.short_epochs, "n_short": N_SHORT,
                          "size_seeds": len(sizes), "batch_size": BATCH_SIZE,
                          "learning_rate": LEARNING_RATE, "decay_per_epoch": DECAY, "max_shift": MAX_SHIFT,
                          "data": "the same 4,000 training digits from the full MNIST for every seed; "
                                  "the first n_test MNIST test digits"},
              "summary": summarise(runs, effects, n_digits), "by_size": summarise_sizes(sizes),
              "runs": runs, "sizes": sizes})
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
