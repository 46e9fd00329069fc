"""FedAvg that averages batch-norm statistics: the server's new weights are the
example-weighted mean of the clients' Keras-trained weights, moving statistics included
(TFF's own FedAvg leaves those as initialized)."""

import numpy as np
import tensorflow as tf

from tests.test_partial_personal import _keras_bn_mlp
from tests.toy_clients import toy_clients
from tff_course.algorithms import build_fedavg, build_optimizer
from tff_course.algorithms.model_fn import keras_model_fn

LR = 0.1


def _keras_client(start_trainable, start_statistics, dataset):
  model = _keras_bn_mlp()
  for variable, value in zip(model.trainable_weights + model.non_trainable_weights,
                             list(start_trainable) + list(start_statistics)):
    variable.assign(value)
  loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
  examples = 0
  for x, y in dataset:
    with tf.GradientTape() as tape:
      loss = loss_fn(y, model(x, training=True))
    for variable, gradient in zip(model.trainable_weights,
                                  tape.gradient(loss, model.trainable_weights)):
      variable.assign_sub(LR * gradient)
    examples += len(y)
  return ([w.numpy() for w in model.trainable_weights],
          [w.numpy() for w in model.non_trainable_weights], examples)


class AverageStatisticsTest(tf.test.TestCase):

  def test_the_server_takes_the_clients_mean_weights_and_statistics(self):
    data, _ = toy_clients()
    process = build_fedavg(keras_model_fn(_keras_bn_mlp, data[0].element_spec),
                           client_optimizer=build_optimizer("sgd", LR),
                           server_optimizer=build_optimizer("sgd", 1.0),
                           average_statistics=True)
    state = process.initialize()
    start = process.get_model_weights(state)
    output = process.next(state, data[:3])
    clients = [_keras_client(start.trainable, start.non_trainable, d) for d in data[:3]]
    share = np.array([c[2] for c in clients], np.float64) / sum(c[2] for c in clients)
    end = process.get_model_weights(output.state)
    for index, part in ((0, end.trainable), (1, end.non_trainable)):
      expected = [sum(s * c[index][i] for s, c in zip(share, clients))
                  for i in range(len(part))]
      self.assertAllClose(part, expected, atol=1e-5, rtol=1e-4)
    self.assertNotAllClose(end.non_trainable[0], start.non_trainable[0])
    tff_default = build_fedavg(keras_model_fn(_keras_bn_mlp, data[0].element_spec),
                               client_optimizer=build_optimizer("sgd", LR),
                               server_optimizer=build_optimizer("sgd", 1.0))
    plain = tff_default.next(tff_default.initialize(), data[:3])
    initial = tff_default.get_model_weights(tff_default.initialize()).non_trainable
    self.assertAllEqual(tff_default.get_model_weights(plain.state).non_trainable, initial)


if __name__ == "__main__":
  tf.test.main()
