"""TensorFlow's C++ log: quiet unless the user chose a level.

Importing TensorFlow prints start-up lines (CUDA stubs, cuDNN factories, CPU features,
TensorRT) through its C++ log, and level "2" still lets grappler's harmless "Failed to
detect the fetch node(s)" through for TFF's empty-result computations. Failures that
matter reach Python as exceptions. `TF_CPP_MIN_LOG_LEVEL=0` shows everything again.
"""

import os

QUIET_LEVEL = "3"


def quiet_tf_log() -> None:
  """Sets TF_CPP_MIN_LOG_LEVEL to QUIET_LEVEL unless it is set; effective when called
  before TensorFlow is imported, and inherited by the TFF worker process."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)
