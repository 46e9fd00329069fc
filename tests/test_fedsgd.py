"""FedSGD's gradient and weight forms agree; FedAvg with several local steps does not."""

import numpy as np
import tensorflow as tf

from tests.shared_data import requires_data, shared_data_dir
from tff_course.algorithms.evaluation import evaluate_weights
from tff_course.algorithms.fedavg import build_fedavg
from tff_course.algorithms.fedsgd import build_fedsgd
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.algorithms.optimizers import build_optimizer
from tff_course.data import load_dataset
from tff_course.errors import ConfigError
from tff_course.models import build_model
from tff_course.partition import iid_sampler, shard_partition
from tff_course.sampling import create_devices, get_devices_for_round, round_seed

ROUNDS = 5
TOLERANCE = 0.0002  # 0.02 % of test accuracy


def two_nn():
  return build_model("mnist_2nn", (28, 28, 1), 10)


@requires_data("mnist")
class FedSgdFormsTest(tf.test.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.mnist = load_dataset("mnist", data_dir=shared_data_dir(), limit=12000)

  def run_both_forms(self, partition, learning_rate, fraction):
    devices = create_devices(self.mnist, partition, batch_size=None, seed=0)
    model_fn = keras_model_fn(two_nn, devices[0].dataset.element_spec)
    processes = {form: build_fedsgd(model_fn, learning_rate=learning_rate, form=form)
                 for form in ("gradient", "weights")}
    states = {form: process.initialize() for form, process in processes.items()}
    start = processes["gradient"].get_model_weights(states["gradient"])
    states["weights"] = processes["weights"].set_model_weights(states["weights"], start)
    keras_model = two_nn()
    curves = {form: [] for form in processes}
    for round_num in range(ROUNDS):
      chosen = get_devices_for_round(devices, fraction, round_seed(0, round_num))
      for form, process in processes.items():
        states[form] = process.next(states[form], [d.dataset for d in chosen]).state
        weights = process.get_model_weights(states[form])
        curves[form].append(evaluate_weights(keras_model, weights, self.mnist.test.x,
                                             self.mnist.test.y, self.mnist.modality)["accuracy"])
    return curves

  def test_iid_100_clients_lr_001_c_05(self):
    curves = self.run_both_forms(iid_sampler(self.mnist, 100, 120), 0.01, 0.5)
    self.assertAllClose(curves["gradient"], curves["weights"], atol=TOLERANCE, rtol=0)
    self.assertGreater(curves["gradient"][-1], curves["gradient"][0])

  def test_noniid_50_clients_lr_01_c_02(self):
    curves = self.run_both_forms(shard_partition(self.mnist, 50, 2), 0.1, 0.2)
    self.assertAllClose(curves["gradient"], curves["weights"], atol=TOLERANCE, rtol=0)
    self.assertGreater(curves["gradient"][-1], curves["gradient"][0] + 0.1)


class FedSgdDiffersFromFedAvgTest(tf.test.TestCase):

  def test_several_local_steps_change_the_result(self):
    toy = load_dataset("toy_iid", num_clients=4, samples_per_client=100)
    partition = iid_sampler(toy, 4, 80)
    full = create_devices(toy, partition, batch_size=None, seed=0)
    small = create_devices(toy, partition, batch_size=10, seed=0)

    def small_mlp():
      return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(10,)),
                                  tf.keras.layers.Dense(8, activation="relu"),
                                  tf.keras.layers.Dense(4)])

    spec = full[0].dataset.element_spec
    fedsgd = build_fedsgd(keras_model_fn(small_mlp, spec), learning_rate=0.1, form="weights")
    fedavg = build_fedavg(keras_model_fn(small_mlp, spec),
                          client_optimizer=build_optimizer("sgd", 0.1),
                          server_optimizer=build_optimizer("sgd", 1.0))
    sgd_state = fedsgd.initialize()
    avg_state = fedavg.set_model_weights(fedavg.initialize(), fedsgd.get_model_weights(sgd_state))
    one_step = fedavg.next(avg_state, [d.dataset for d in full]).state
    sgd_state = fedsgd.next(sgd_state, [d.dataset for d in full]).state
    many_steps = fedavg.next(avg_state, [d.dataset for d in small]).state
    reference = fedsgd.get_model_weights(sgd_state).trainable
    same = fedavg.get_model_weights(one_step).trainable
    different = fedavg.get_model_weights(many_steps).trainable
    for a, b in zip(reference, same):
      self.assertAllClose(a, b, atol=1e-6)
    self.assertGreater(max(np.abs(a - b).max() for a, b in zip(reference, different)), 1e-3)

  def test_bad_arguments(self):
    spec = (tf.TensorSpec([None, 10], tf.float32), tf.TensorSpec([None], tf.int32))
    model_fn = keras_model_fn(lambda: tf.keras.Sequential([tf.keras.layers.Dense(2)]), spec)
    with self.assertRaisesRegex(ConfigError, "form: got 'delta'"):
      build_fedsgd(model_fn, learning_rate=0.1, form="delta")
    with self.assertRaisesRegex(ConfigError, "learning_rate: got 0"):
      build_fedsgd(model_fn, learning_rate=0)


if __name__ == "__main__":
  tf.test.main()
