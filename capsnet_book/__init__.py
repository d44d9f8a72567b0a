"""Companion package of the book *From CNN translation equivariance to Capsule Networks*.

Modules, by idea:
    notebook         a chapter's Setup cell (``setup``: quiet logs, setting, seed, font; ``glue``)
    data             MNIST online or offline (``load_mnist``, ``subsample``)
    datasets         the Keras datasets the chapters train on (shifted, augmented, overlapping digits)
    models           every model builder of the book, from one place
    training         the one training path: ``Schedule`` and ``fit`` (early stopping, best epoch kept)
    evaluate         class scores (``model.predict``), accuracy, accuracy curves
    equivariance     chapter 1: convolution from scratch, shifts, the equivariance error
    invariance       chapter 2: pooling, blur pooling, shift consistency
    transforms       rotations, shifts, canvases, random affine changes of image batches
    capsules         chapters 4-6: squash, dynamic routing, capsule layers, margin loss
    cnn              the baseline CNNs and blur pooling (definitions; build them via ``models``)
    capsnet          chapter 6's CapsNet, its presets, loss and the one training step
    routing_analysis chapters 5-6: what routing does in a trained CapsNet (coupling measures)
    group_conv       chapter 7: the p4 (90-degree rotation) group-equivariant CNN
    comparison_models chapter 7: the comparison's models by name and the settings they train with
    compare          chapter 7: the experiment runner (train alike, score alike, loop over seeds)
    transformed_sets chapter 7: the test sets (placed, rotated, affine, parts moved)
    stroke_digits    chapter 7: digits drawn from identical strokes, and the strokes rearranged
    scoring          confident answers, AUROC, confusions
    stats            paired bootstrap intervals over seeds and test digits
    costs            inference parameters (no decoder) and FLOPs per image, for fair comparisons
    multimnist       chapter 8: overlapping digits (the paper's MultiMNIST) and its metric
    overlapping      chapter 8: the CapsNet for two digits and its training
    readout          chapter 8: how much of a transformation a representation carries
    recorded         results recorded by the benchmark scripts, read by one object
    stored_weights   converged models' weights shipped with the package
    demos            the site's interactive figures: their weight files, chapter 1's figure in NumPy

TensorFlow is imported only by the modules that need it, so ``import capsnet_book`` is cheap.
"""

__version__ = "0.1.0"
