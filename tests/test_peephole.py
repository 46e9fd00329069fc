import numpy as np
import tensorflow as tf

from tff_course.models.peephole import PeepholeLSTMCell


def _sigmoid(z):
  return 1 / (1 + np.exp(-z))


def numpy_peephole_lstm(x, kernel, recurrent_kernel, bias, peepholes):
  """Reference: the peephole LSTM recurrence over x of shape (batch, time, features)."""
  units = recurrent_kernel.shape[0]
  h = np.zeros((x.shape[0], units))
  c = np.zeros((x.shape[0], units))
  for t in range(x.shape[1]):
    z = x[:, t] @ kernel + h @ recurrent_kernel + bias
    zi, zf, zc, zo = np.split(z, 4, axis=-1)
    i = _sigmoid(zi + peepholes[0] * c)
    f = _sigmoid(zf + peepholes[1] * c)
    c = f * c + i * np.tanh(zc)
    o = _sigmoid(zo + peepholes[2] * c)
    h = o * np.tanh(c)
  return h


class PeepholeLSTMCellTest(tf.test.TestCase):

  def test_matches_numpy_reference(self):
    rng = np.random.default_rng(0)
    layer = tf.keras.layers.RNN(PeepholeLSTMCell(5))
    x = rng.normal(size=(3, 7, 4)).astype(np.float32)
    layer(x)
    weights = [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in layer.weights]
    layer.set_weights(weights)
    self.assertAllClose(layer(x), numpy_peephole_lstm(x.astype(np.float64), *weights),
                        atol=1e-5)

  def test_peepholes_change_the_output(self):
    layer = tf.keras.layers.RNN(PeepholeLSTMCell(5))
    x = np.random.default_rng(1).normal(size=(2, 6, 4)).astype(np.float32)
    before = layer(x)
    layer.cell.peepholes.assign(tf.ones_like(layer.cell.peepholes) * 3.0)
    self.assertNotAllClose(before, layer(x))

  def test_parameter_count_and_forget_bias(self):
    layer = tf.keras.layers.RNN(PeepholeLSTMCell(256))
    layer(np.zeros((1, 2, 8), np.float32))
    self.assertEqual(layer.count_params(), 4 * 256 * (8 + 256 + 1) + 3 * 256)
    self.assertAllEqual(layer.cell.bias.numpy()[256:512], np.ones(256))

  def test_saved_model_round_trip(self):
    model = tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(4, 3)),
                                 tf.keras.layers.RNN(PeepholeLSTMCell(2))])
    path = self.create_tempdir().full_path + "/model.keras"
    model.save(path)
    x = np.ones((1, 4, 3), np.float32)
    self.assertAllClose(model(x), tf.keras.models.load_model(path)(x))


if __name__ == "__main__":
  tf.test.main()
