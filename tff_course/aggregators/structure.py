"""Flattening client values inside TFF's TensorFlow computations, which receive
structures as TFF Structs or as Python containers."""

from __future__ import annotations


def flatten(value):
  """(tensors, a function packing tensors back into value's structure)."""
  import tensorflow as tf

  from tff_course.runtime.tff_module import tff

  if isinstance(value, tff.structure.Struct):
    return (tff.structure.flatten(value),
            lambda tensors: tff.structure.pack_sequence_as(value, tensors))
  return tf.nest.flatten(value), lambda tensors: tf.nest.pack_sequence_as(value, tensors)
