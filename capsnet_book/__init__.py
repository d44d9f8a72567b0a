"""Companion package of the book *From CNN translation equivariance to Capsule Networks*.

Modules:
    data         MNIST online or offline (``load_mnist``, ``subsample``)
    notebook     the chapters' Setup helpers (settings, quiet logs, Korean font, glue)
    equivariance chapter 1: convolution from scratch, shifts, equivariance error
    invariance   chapter 2: pooling, blur pooling, shift consistency
    transforms   chapters 3 and 7: rotations, shifts on a larger canvas, random affine
    capsules     chapters 4-6: squash, dynamic routing, capsule layers, margin loss
    cnn          chapters 2-3: the baseline CNN, blur pooling, a small training loop
    capsnet      chapter 6: the CapsNet model, its presets, loss and training step (``fit``)
    routing_analysis chapters 5-6: what routing does in a trained CapsNet (coupling measures)
    stats        paired bootstrap intervals over seeds and test digits
    recorded     results recorded by the benchmark scripts, shipped with the package
    models       model builders: ``build_baseline_cnn``, ``build_capsnet``
    group_conv   chapter 7: the p4 (90-degree rotation) group-equivariant CNN
    compare      chapter 7: the experiment runner, re-exporting comparison_models (models and
                 settings), transformed_sets (test sets) and scoring (confident answers)
    costs        inference parameters (no decoder) and FLOPs per image, for fair comparisons
    multimnist   coming chapter 8: overlapping digits (the paper's MultiMNIST) and its metric
    readout      coming chapter 8: how much of a transformation a representation carries

TensorFlow is imported only by the modules that need it, so ``import capsnet_book`` is cheap.
"""

__version__ = "0.1.0"
