"""Chapter 8's trained models: seed 0 of the recorded protocol, kept so the chapter need not train them.

    python benchmarks/multimnist_models.py         # about 6-9 min on a 2-core CPU

Training the CapsNet and the matched CNN on overlapping digits to convergence takes minutes each,
more than a chapter's quick setting may spend. This script trains seed 0 of chapter 8's recorded
protocol (:mod:`multimnist_comparison`: the same data, models, schedule and early stopping), and
writes the weights of both models, rounded to float16, to
``capsnet_book/results/multimnist_models.npz`` (keys ``"capsnet/000"``, ... in ``get_weights()``
order) and how they were made to ``multimnist_models.json``. The chapter loads them
(:func:`capsnet_book.recorded.recorded_weights`) for its segmentation figure and its read-outs, and
says so.

The JSON also records, on the protocol's test pairs, each model's rate of "both digits right" with
the float32 weights and with the stored float16 ones, and the share of test pairs on which the
stored model's outcome equals the outcome recorded for seed 0 in ``multimnist_comparison.json``
(training on this CPU is deterministic, so it is 1 up to the float16 rounding).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import multimnist_comparison as protocol  # noqa: E402
from provenance import float16_weights, save_stored_models  # noqa: E402

HARNESS = ["benchmarks/multimnist_models.py"] + protocol.HARNESS
SEED = 0



def main(argv: list[str]) -> int:
    from capsnet_book.notebook import quiet_logs

    quiet_logs()
    import keras
    import numpy as np

    from capsnet_book.multimnist import both_right_each
    from capsnet_book.evaluate import class_scores
    from capsnet_book.overlapping import fit_on_pairs
    from capsnet_book.recorded import recorded_results, unpack_bits

    start = time.perf_counter()
    recorded = recorded_results("multimnist_comparison")
    spec = recorded["protocol"]
    data = protocol.make_data(spec["pairs"]["train"], spec["pairs"]["val"], spec["pairs"]["test"])
    recorded_right = {name: unpack_bits(recorded["results"]["models"][name]["both_right_bits"],
                                        tuple(recorded["results"]["shape"]))[spec["seeds"].index(SEED)]
                      for name in protocol.MODELS}
    weights, models = {}, {}
    for name in protocol.MODELS:
        keras.utils.set_random_seed(SEED)
        model = protocol.build(name)
        curve = fit_on_pairs(model, data["train"], data["val"], SEED, spec["batch_size"], spec["learning_rate"],
                             spec["max_epochs"], spec["patience"])
        right32 = both_right_each(class_scores(model, data["test"][0]), data["test"][3])
        weights[name] = float16_weights(model)
        right16 = both_right_each(class_scores(model, data["test"][0]), data["test"][3])
        models[name] = {"epochs": len(curve), "best_epoch": int(np.argmax(curve)) + 1, "val_curve": curve,
                        "both_right_float32": float(right32.mean()), "both_right_float16": float(right16.mean()),
                        "same_outcome_as_recorded": float((right16 == recorded_right[name]).mean())}
        print(f"{name}: {len(curve)} epochs, both right {right32.mean():.1%} (float16: {right16.mean():.1%}), "
              f"same outcome as the recorded seed {SEED} on {models[name]['same_outcome_as_recorded']:.1%} of pairs",
              flush=True)
    save_stored_models(Path(__file__).name, argv, HARNESS, start, source="multimnist_comparison", seed=SEED,
                       weights=weights, models=models)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
