"""An LSTM cell with peephole connections (Gers and Schmidhuber, 2000), as in TF 1's
`LSTMCell(use_peepholes=True)`, which Keras 2.14 no longer ships.

The input, forget and output gates also see the cell state through a diagonal
(per-unit) weight: the input and forget gates the previous state, the output gate the
new one. Each cell has 3 * units parameters more than Keras' LSTMCell.
"""

from __future__ import annotations

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="tff_course")
class PeepholeLSTMCell(tf.keras.layers.Layer):
  """One step of a peephole LSTM: (x_t, [h, c]) -> (h_t, [h_t, c_t]).

  Gates are computed from z = x W + h U + b, split as (input, forget, cell, output);
  the forget gate's bias starts at 1, as in Keras' LSTMCell.
  """

  def __init__(self, units: int, **kwargs):
    super().__init__(**kwargs)
    self.units = units
    self.state_size = [units, units]
    self.output_size = units

  def build(self, input_shape):
    units = self.units
    self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 4 * units),
                                  initializer="glorot_uniform")
    self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(units, 4 * units),
                                            initializer="orthogonal")
    self.bias = self.add_weight(name="bias", shape=(4 * units,), initializer=_unit_forget_bias)
    self.peepholes = self.add_weight(name="peepholes", shape=(3, units),
                                     initializer="glorot_uniform")
    super().build(input_shape)

  def call(self, inputs, states):
    h, c = states
    z = tf.matmul(inputs, self.kernel) + tf.matmul(h, self.recurrent_kernel) + self.bias
    z_input, z_forget, z_cell, z_output = tf.split(z, 4, axis=-1)
    peep_input, peep_forget, peep_output = tf.unstack(self.peepholes)
    input_gate = tf.sigmoid(z_input + peep_input * c)
    forget_gate = tf.sigmoid(z_forget + peep_forget * c)
    c_new = forget_gate * c + input_gate * tf.tanh(z_cell)
    output_gate = tf.sigmoid(z_output + peep_output * c_new)
    h_new = output_gate * tf.tanh(c_new)
    return h_new, [h_new, c_new]

  def get_config(self):
    return {**super().get_config(), "units": self.units}


def _unit_forget_bias(shape, dtype=None):
  units = shape[0] // 4
  return tf.concat([tf.zeros([units], dtype), tf.ones([units], dtype),
                    tf.zeros([2 * units], dtype)], axis=0)
