"""TensorFlow's C++ log: quiet unless the user chose a level.

Importing TensorFlow prints start-up lines (CUDA stubs, cuDNN factories, CPU features,
TensorRT) through its C++ log, and level "2" still lets grappler's harmless "Failed to
detect the fetch node(s)" through for TFF's empty-result computations. Failures that
matter reach Python as exceptions. `TF_CPP_MIN_LOG_LEVEL=0` shows everything again.

In Jupyter and IPython, TensorFlow also sets its Python logger to INFO, and every
checkpoint a run saves printed "INFO:tensorflow:Assets written to ..." twice into the
notebook; the same choice quiets that logger to warnings.

Code that builds a new `tf.function` for every model it compiles (one per attack of a
course run) gets TensorFlow's warning that "N out of the last M calls ... triggered
tf.function retracing" after the fifth, a paragraph of advice that does not apply;
`drop_retracing_warnings` leaves that one warning out. Keras 2.14 calls TensorFlow
functions TensorFlow itself marks deprecated (batch norm's `_colocate_with`, when TFF
builds a graph of a model), and TensorFlow prints "From .../batch_normalization.py: ...
is deprecated ... Instructions for updating" about its own code; the quiet Python log
leaves those notices out too.
"""

import logging
import os
from typing import Dict, Optional

QUIET_LEVEL = "3"
LEVEL = "TF_CPP_MIN_LOG_LEVEL"
INITIAL_ENVIRONMENT = "/proc/self/environ"
_USER_CHOSE = LEVEL in os.environ


def _initial_level() -> Optional[str]:
  """TF_CPP_MIN_LOG_LEVEL as the process was started with it (Linux: /proc/self/environ),
  before any import could set it (jax sets "1" when TensorFlow was imported first); else
  as the toolkit found it on import."""
  try:
    with open(INITIAL_ENVIRONMENT, "rb") as stream:
      entries = stream.read().split(b"\0")
  except OSError:
    return os.environ.get(LEVEL) if _USER_CHOSE else None
  prefix = LEVEL.encode() + b"="
  chosen = [entry[len(prefix):] for entry in entries if entry.startswith(prefix)]
  return chosen[0].decode() if chosen else None


def child_environment() -> Dict[str, str]:
  """This process's environment for the processes the toolkit starts, with TensorFlow's C++
  log at the level the user started with, else QUIET_LEVEL (so that workers do not print
  TensorFlow's start-up lines)."""
  return {**os.environ, LEVEL: _initial_level() or QUIET_LEVEL}


def quiet_tf_log() -> None:
  """Sets TF_CPP_MIN_LOG_LEVEL to QUIET_LEVEL unless it is set; effective when called
  before TensorFlow is imported, and inherited by the TFF worker process."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)


class _NotRetracing(logging.Filter):
  """Drops TensorFlow's "triggered tf.function retracing" warning."""

  def filter(self, record: logging.LogRecord) -> bool:
    return "triggered tf.function retracing" not in record.getMessage()


_RETRACING_FILTER = _NotRetracing()


def drop_retracing_warnings() -> None:
  """Leaves TensorFlow's retracing warning out of its Python log (idempotent)."""
  logging.getLogger("tensorflow").addFilter(_RETRACING_FILTER)


class _NotInternalDeprecation(logging.Filter):
  """Drops TensorFlow's notices that a function Keras or TensorFlow calls is deprecated."""

  def filter(self, record: logging.LogRecord) -> bool:
    message = record.getMessage()
    return not ("is deprecated" in message and "Instructions for updating" in message)


DEPRECATION_FILTER = _NotInternalDeprecation()


def quiet_tf_python_log() -> None:
  """Sets TensorFlow's Python logger to WARNING, without internal deprecation notices,
  unless the user chose a log level (TF_CPP_MIN_LOG_LEVEL set before the toolkit was
  imported); imports TensorFlow."""
  if not _USER_CHOSE:
    import tensorflow as tf

    tf.get_logger().setLevel(logging.WARNING)
    tf.get_logger().addFilter(DEPRECATION_FILTER)
