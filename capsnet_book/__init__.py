"""Companion package of the book *From CNN translation equivariance to Capsule Networks*.

Modules:
    data         MNIST online or offline (``load_mnist``, ``subsample``)
    notebook     the chapters' Setup helpers (settings, quiet logs, Korean font, glue)
    equivariance chapter 1: convolution from scratch, shifts, equivariance error
    invariance   chapter 2: pooling, blur pooling, shift consistency
    transforms   chapters 3 and 7: rotations, shifts on a larger canvas, random affine
    capsules     chapters 4-6: squash, dynamic routing, capsule layers, margin loss
    cnn          chapters 2-3: the baseline CNN, blur pooling, a small training loop
    capsnet      chapter 6: the CapsNet model, its presets and loss
    models       model builders: ``build_baseline_cnn``, ``build_capsnet``
    group_conv   chapter 7: the p4 (90-degree rotation) group-equivariant CNN
    compare      chapter 7: the comparison harness (model configurations, test sets, seeds)

TensorFlow is imported only by the modules that need it, so ``import capsnet_book`` is cheap.
"""

__version__ = "0.1.0"
