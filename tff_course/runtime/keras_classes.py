"""Keeping Keras models usable eagerly after TFF builds its computations.

Keras 2.14 chooses between v2 and v1 base classes every time a layer or model is
constructed, and swaps the bases of its classes (Dense, Sequential, Functional, ...)
accordingly: a model built in a graph, as TFF builds the model inside every computation
it traces, turns those classes into v1 ones, and a model built eagerly before then fails
when called ("Your Layer or Model is in an invalid state"). `usable_eagerly` swaps the
classes of one model and its layers back, as Keras itself does on an eager construction.
"""

from __future__ import annotations


def usable_eagerly(model):
  """`model`, its class and its layers' classes on Keras' v2 bases again; returns it."""
  import tensorflow as tf

  if not tf.executing_eagerly():
    return model
  from keras.src.engine import base_layer, base_layer_v1, training, training_v1
  from keras.src.utils.version_utils import swap_class

  classes = {type(model)} | {type(layer) for layer in model._flatten_layers(include_self=False)}
  for cls in classes:
    if issubclass(cls, training.Model):
      swap_class(cls, training.Model, training_v1.Model, use_v2=True)
    swap_class(cls, base_layer.Layer, base_layer_v1.Layer, use_v2=True)
  return model
