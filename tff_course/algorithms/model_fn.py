"""Turning a Keras model builder into the model function TFF learning processes take."""

from __future__ import annotations

from typing import Callable


def keras_model_fn(build_keras_model: Callable, input_spec) -> Callable:
  """A no-argument function returning a fresh `tff.learning.models.VariableModel`.

  The model is trained with sparse categorical cross-entropy on logits (plus any loss
  its layers add) and reports sparse categorical accuracy.

  Args:
    build_keras_model: a no-argument function returning a new (uncompiled) Keras model.
    input_spec: the element spec of the client datasets: (inputs, labels) batches.
  """
  def model_fn():
    import tensorflow as tf

    from tff_course.runtime.tff_module import tff

    keras_model = build_keras_model()
    model = tff.learning.models.from_keras_model(
        keras_model,
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        input_spec=input_spec,
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    if _adds_activation_losses(keras_model):
      model.predict_on_batch = _in_callers_graph(keras_model)
    return model
  return model_fn


def _adds_activation_losses(keras_model) -> bool:
  from tff_course.models.every_character import EveryCharacterLoss

  return any(isinstance(layer, EveryCharacterLoss) for layer in keras_model.layers)


def _in_callers_graph(keras_model) -> Callable:
  """TFF's `predict_on_batch` is a tf.function of its own, so a loss a layer adds from
  its activations lives in that graph and `forward_pass` cannot read it; called plainly,
  the model runs in `forward_pass`'s graph and its added losses count."""
  def predict_on_batch(x, training=True):
    return keras_model(x, training=training)
  return predict_on_batch
