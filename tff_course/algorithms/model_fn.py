"""Turning a Keras model builder into the model function TFF learning processes take."""

from __future__ import annotations

from typing import Callable


def keras_model_fn(build_keras_model: Callable, input_spec) -> Callable:
  """A no-argument function returning a fresh `tff.learning.models.VariableModel`.

  The model is trained with sparse categorical cross-entropy on logits and reports
  sparse categorical accuracy.

  Args:
    build_keras_model: a no-argument function returning a new (uncompiled) Keras model.
    input_spec: the element spec of the client datasets: (inputs, labels) batches.
  """
  def model_fn():
    import tensorflow as tf

    from tff_course.runtime.tff_module import tff

    return tff.learning.models.from_keras_model(
        build_keras_model(),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        input_spec=input_spec,
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
  return model_fn
