"""Companion package of the book *From CNN translation equivariance to Capsule Networks*.

Modules:
    data         MNIST online or offline (``load_mnist``, ``subsample``)
    notebook     the chapters' Setup helpers (settings, quiet logs, Korean font, glue)
    equivariance chapter 1: convolution from scratch, shifts, equivariance error
    invariance   chapter 2: pooling, blur pooling, shift consistency
    transforms   chapters 3 and 7: rotations, shifts on a larger canvas, random affine
    capsules     chapters 4-6: squash, dynamic routing, capsule layers, margin loss
    models       model builders: ``build_baseline_cnn``, ``build_capsnet``

TensorFlow is imported only by the modules that need it, so ``import capsnet_book`` is cheap.
"""

__version__ = "0.1.0"
