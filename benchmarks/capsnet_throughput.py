"""CapsNet throughput on this machine's CPU: training and inference images per second.

For each preset ("quick", "paper") it times, in one process:

* the bare convolution trunk (Conv1 and the PrimaryCaps convolution, a dense softmax on top:
  the same convolutions with no capsule parts), ``build_capsnet_trunk``;
* the CapsNet with 1 routing iteration (uniform coupling) and with 3 (the paper's).

A training step is forward, loss, backward and an Adam update inside one ``tf.function``
(no ``jit_compile``: XLA made the CapsNet step about 25x slower on this CPU). The models are
timed in turns, several rounds, and the best round of each is reported, so that a burst of
load from other processes on a shared machine hurts all of them alike and is filtered out.
The last column is the training throughput relative to the preset's trunk.

    python benchmarks/capsnet_throughput.py              # short: a few batches per model
    python benchmarks/capsnet_throughput.py --batches 20 --rounds 5   # steadier figures
    python benchmarks/capsnet_throughput.py --presets paper
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from capsnet_book.capsnet import build_capsnet, build_capsnet_trunk, capsnet_loss  # noqa: E402


def make_steps(model: keras.Model, kind: str) -> tuple[Callable, Callable]:
    """A compiled training step ``(x, y) -> loss`` and inference step ``x -> output``."""
    optimizer = keras.optimizers.Adam(1e-3)

    @tf.function
    def train_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            if kind == "trunk":
                probabilities = model(x, training=True)
                loss = tf.reduce_mean(keras.losses.categorical_crossentropy(y, probabilities))
            else:
                lengths, reconstructions = model(x, y, training=True)
                loss = capsnet_loss(y, lengths, x, reconstructions)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    @tf.function
    def infer_step(x: tf.Tensor) -> tf.Tensor:
        out = model(x)
        return out if kind == "trunk" else out[0]

    return train_step, infer_step


def images_per_second(step: Callable, args: tuple, batches: int, batch_size: int) -> float:
    start = time.perf_counter()
    for _ in range(batches):
        result = step(*args)
    _ = np.asarray(result)  # wait for the last step to finish
    return batches * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["quick", "paper"], choices=["quick", "paper"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model (tracing)")
    parser.add_argument("--batches", type=int, default=3, help="timed steps per model and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of turns; the best is kept")
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    x = tf.random.uniform((args.batch_size, 28, 28, 1))
    y = tf.one_hot(tf.random.uniform((args.batch_size,), 0, 10, tf.int32), 10)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores, "
          f"batch {args.batch_size}, best of {args.rounds} rounds of {args.batches} batches")
    print(f"{'preset':<7}{'model':<22}{'params':>11}{'train img/s':>13}{'infer img/s':>13}{'train / trunk':>15}")
    for preset in args.presets:
        models = {
            "trunk (convolutions)": ("trunk", build_capsnet_trunk(preset)),
            "CapsNet, 1 iteration": ("capsnet", build_capsnet(preset, routing_iterations=1)),
            "CapsNet, 3 iterations": ("capsnet", build_capsnet(preset, routing_iterations=3)),
        }
        steps = {name: make_steps(model, kind) for name, (kind, model) in models.items()}
        for train_step, infer_step in steps.values():
            for _ in range(args.warmup):
                train_step(x, y)
                infer_step(x)
        best = {name: [0.0, 0.0] for name in models}
        for _ in range(args.rounds):
            for name, (train_step, infer_step) in steps.items():
                train = images_per_second(train_step, (x, y), args.batches, args.batch_size)
                infer = images_per_second(infer_step, (x,), args.batches, args.batch_size)
                best[name] = [max(best[name][0], train), max(best[name][1], infer)]
        trunk_train = best["trunk (convolutions)"][0]
        for name, (train, infer) in best.items():
            params = models[name][1].count_params()
            print(f"{preset:<7}{name:<22}{params:>11,}{train:>13.0f}{infer:>13.0f}{train / trunk_train:>15.2f}")


if __name__ == "__main__":
    main()
