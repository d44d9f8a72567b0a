"""Every model of the book, from one place: import the builders from here.

Chapter by chapter:

* 2-3: :func:`build_baseline_cnn` (LeNet-style, optional blur pooling or a global-average head);
* 6: :func:`build_capsnet` (the paper's CapsNet, ``"quick"`` or ``"paper"`` sizes, a
  :class:`CapsNetConfig`), and :func:`build_capsnet_trunk`, its convolutions alone;
* 7: :func:`build_model` builds any model of the comparison by name (:data:`MODEL_NAMES`) for a
  setting (:func:`comparison_setting`): the CapsNet and its routing variants on the 40x40 canvas,
  the matched CNN (:func:`build_cnn`), and the p4-CNN with its plain twin (:func:`build_p4_cnn`,
  :func:`build_z2_cnn`);
* 8: :func:`build_overlap_capsnet` and :func:`build_pair_cnn` for two overlapping digits, with
  :func:`matching_dense_units` to match the CNN's weights to the CapsNet's.

The definitions live in the modules named after each family (``capsnet``, ``cnn``,
``comparison_models``, ``group_conv``, ``overlapping``); this module is the public path to them.
"""

from capsnet_book.capsnet import PRESETS as CAPSNET_PRESETS
from capsnet_book.capsnet import RECONSTRUCTION_WEIGHT, CapsNet, CapsNetConfig, build_capsnet, build_capsnet_trunk
from capsnet_book.cnn import build_baseline_cnn
from capsnet_book.comparison_models import MODEL_NAMES, CompareSetting, build_cnn, build_model
from capsnet_book.comparison_models import resolve_setting as comparison_setting
from capsnet_book.comparison_models import with_setting
from capsnet_book.group_conv import build_p4_cnn, build_z2_cnn
from capsnet_book.overlapping import build_overlap_capsnet, build_pair_cnn, matching_dense_units

__all__ = [
    "CAPSNET_PRESETS",
    "MODEL_NAMES",
    "RECONSTRUCTION_WEIGHT",
    "CapsNet",
    "CapsNetConfig",
    "CompareSetting",
    "build_baseline_cnn",
    "build_capsnet",
    "build_capsnet_trunk",
    "build_cnn",
    "build_model",
    "build_overlap_capsnet",
    "build_p4_cnn",
    "build_pair_cnn",
    "build_z2_cnn",
    "comparison_setting",
    "matching_dense_units",
    "with_setting",
]
