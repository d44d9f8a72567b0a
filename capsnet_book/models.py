"""Model builders used by more than one chapter, gathered in one place.

``build_baseline_cnn`` lives in :mod:`capsnet_book.cnn`, ``build_capsnet`` in
:mod:`capsnet_book.capsnet`; import them from here.
"""

from capsnet_book.capsnet import build_capsnet
from capsnet_book.cnn import build_baseline_cnn

__all__ = ["build_baseline_cnn", "build_capsnet"]
