import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.errors import ConfigError
from tff_course.models import build_model


class ModelTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      ("logistic", (60,), 10, 610),
      ("mlp", (60,), 10, 4_554),
      ("mnist_2nn", (28, 28, 1), 10, 199_210),
      ("mnist_2nn_bn", (28, 28, 1), 10, 200_410),
      ("mnist_cnn", (28, 28, 1), 10, 1_663_370),
      ("lenet5", (32, 32, 3), 10, 83_126),
      ("cifar_convnet", (32, 32, 3), 10, 122_570),
      ("resnet20_groupnorm", (32, 32, 3), 10, 272_474),
  )
  def test_parameter_count_and_logits(self, name, shape, classes, count):
    model = build_model(name, shape, classes)
    self.assertEqual(model.count_params(), count)
    outputs = model(np.zeros((2, *shape), np.float32))
    self.assertEqual(outputs.shape, (2, classes))

  def test_mnist_2nn_bn_keeps_moving_statistics_for_fedbn(self):
    model = build_model("mnist_2nn_bn", (28, 28, 1), 10)
    self.assertEqual([w.shape[0] for w in model.non_trainable_weights], [200] * 4)

  def test_shakespeare_lstm(self):
    for vocabulary in (81, 90):
      model = build_model("shakespeare_lstm", (80,), vocabulary)
      self.assertEqual(model.count_params(), 265 * vocabulary + 796_672)
    logits = model(np.zeros((2, 80), np.int32))
    self.assertEqual(logits.shape, (2, 90))

  def test_shakespeare_lstm_paper_has_the_papers_parameter_count(self):
    model = build_model("shakespeare_lstm_paper", (80,), 81)
    self.assertEqual(model.count_params(), 866_578)
    self.assertEqual(model(np.zeros((2, 80), np.int32)).shape, (2, 258))

  def test_shakespeare_lstm_paper_refuses_a_larger_vocabulary(self):
    with self.assertRaisesRegex(ConfigError, "got 300 classes, expected at most 258"):
      build_model("shakespeare_lstm_paper", (80,), 300)

  def test_save_and_reload_round_trip(self):
    model = build_model("resnet20_groupnorm", (32, 32, 3), 10)
    path = self.create_tempdir().full_path + "/model.keras"
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    x = np.random.default_rng(0).random((2, 32, 32, 3), np.float32)
    self.assertAllClose(model(x), reloaded(x))

  def test_unknown_model(self):
    with self.assertRaisesRegex(ConfigError, "model: got 'vgg', expected one of logistic, mlp, mnist_2nn"):
      build_model("vgg", (28, 28, 1), 10)


if __name__ == "__main__":
  tf.test.main()
