"""The model-file writer the training scripts use now lives in the Python package
(python/cnnm/builder.py, `pip install ./python`); this module keeps `import cnnm_writer` working
for training/train_digits.py by re-exporting it from the package in this checkout.
"""
import os
import sys

_PYTHON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python")
if os.path.isdir(os.path.join(_PYTHON, "cnnm")) and _PYTHON not in sys.path:
    sys.path.insert(0, _PYTHON)

from cnnm.builder import (  # noqa: E402,F401
    DATA_TYPE_FLOAT32, DROPOUT_CLASSIC, DROPOUT_INVERTED, ENCODING_DEFLATE, ENCODING_RAW, ENCODING_SHUFFLE_DEFLATE,
    GRANULARITY_CHANNEL, GRANULARITY_ELEMENT, POOL_AVERAGE, POOL_MAX, ModelWriter)
