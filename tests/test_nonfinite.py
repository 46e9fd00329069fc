"""A client whose update is not finite is dropped with its weight before aggregation, on
every path (one call per client, packed clients, FedSGD's two forms, the quantized and
robust aggregators), and counted: the new server model is what NumPy computes from the
other clients' updates, the round's training metrics are those of the other clients,
and a round whose clients are all dropped leaves the model unchanged."""

import numpy as np
import tensorflow as tf

from tests.test_packed_clients import toy_config
from tff_course.aggregators.finite import DropNonFiniteFactory
from tff_course.aggregators.quantized import QuantizedMeanFactory
from tff_course.aggregators.robust import CoordinateMedianFactory
from tff_course.algorithms.dropped import clients_dropped
from tff_course.algorithms.fedsgd import build_fedsgd
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.data import load_dataset
from tff_course.experiment.federation import build_federation, build_process, initial_weights
from tff_course.quantization import dorefa_g
from tff_course.runtime.tff_module import tff


def poisoned_rounds(**train):
  """One round of `toy_config(**train)` whose first client's inputs are infinite:
  (start weights, new weights, metrics, (new weights, metrics) of the other clients'
  one-client rounds, their example counts, (new weights, metrics) of a round of the
  poisoned client alone)."""
  with build_federation(toy_config(**train)) as federation:
    chosen = federation.sample(1)
    federation.dataset.train.x[chosen[0].indices] = np.inf
    process = build_process(federation)
    start = initial_weights(federation)
    state = process.set_model_weights(process.initialize(), start)

    def round_of(data):
      output = process.next(state, data)
      return process.get_model_weights(output.state).trainable, output.metrics

    weights, metrics = round_of(federation.client_data(chosen, 1))
    rows = [[federation.client_input(device, 1)] for device in chosen]
    alone = [round_of([row]) for row in rows[1:]]
    counts = [len(device.indices) for device in chosen[1:]]
    return (start.trainable, weights, metrics, alone, counts, round_of([rows[0]]))


class DropsThePoisonedClientTest(tf.test.TestCase):

  def check(self, expected_fn, **train):
    start, weights, metrics, alone, counts, (dropped_alone, alone_metrics) = poisoned_rounds(
        **train)
    expected = [expected_fn(np.stack(layers), counts)
                for layers in zip(*(alone_weights for alone_weights, _ in alone))]
    for got, want in zip(weights, expected):
      self.assertAllClose(got, want, atol=1e-6, rtol=0)
    self.assertEqual(clients_dropped(metrics), 1)
    train_metrics = metrics["client_work"]["train"]
    self.assertTrue(np.isfinite(train_metrics["loss"]), train_metrics)
    self.assertEqual(train_metrics["num_examples"],
                     sum(m["client_work"]["train"]["num_examples"] for _, m in alone))
    self.assertGreater(max(float(np.abs(a - b).max()) for a, b in zip(weights, start)), 1e-3)
    for got, want in zip(dropped_alone, start):
      self.assertAllEqual(got, want)
    self.assertEqual(clients_dropped(alone_metrics), 1)

  def check_mean(self, **train):
    self.check(lambda stacked, counts: np.average(stacked, axis=0, weights=counts), **train)

  def test_fedavg_one_call_per_client(self):
    self.check_mean(client_slots=0)

  def test_fedavg_packed(self):
    self.check_mean(client_slots=2)

  def test_fedsgd_gradient_form(self):
    self.check_mean(algorithm="fedsgd", fedsgd_form="gradient", client_slots=0)

  def test_fedsgd_weight_form(self):
    self.check_mean(algorithm="fedsgd", fedsgd_form="weights", client_slots=0)

  def test_fedsgd_packed_both_forms(self):
    for form in ("gradient", "weights"):
      self.check_mean(algorithm="fedsgd", fedsgd_form=form, client_slots=2)

  def test_quantized(self):
    self.check_mean(algorithm="fedsgd", aggregator="quantized", quant_bits=8,
                    quant_rounding="deterministic")

  def test_median(self):
    self.check(lambda stacked, counts: np.median(stacked, axis=0), algorithm="fedsgd",
               fedsgd_form="weights", aggregator="median")


class DatasetClientsTest(tf.test.TestCase):

  def test_fedsgd_on_datasets_drops_as_if_the_client_were_absent(self):
    toy = load_dataset("toy_iid", num_clients=3, samples_per_client=20)
    x, y = toy.train.x.astype(np.float32), toy.train.y
    size = len(x) // 3
    x[:size] = np.inf
    datasets = [tf.data.Dataset.from_tensor_slices((x[i:i + size], y[i:i + size])).batch(size)
                for i in range(0, 3 * size, size)]
    model_fn = keras_model_fn(
        lambda: tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=x.shape[1:]),
                                     tf.keras.layers.Dense(toy.num_classes)]),
        datasets[0].element_spec)
    for form in ("gradient", "weights"):
      process = build_fedsgd(model_fn, learning_rate=0.5, form=form)
      state = process.initialize()
      output = process.next(state, datasets)
      absent = process.next(state, datasets[1:])
      for got, want in zip(process.get_model_weights(output.state).trainable,
                           process.get_model_weights(absent.state).trainable):
        self.assertAllClose(got, want, atol=1e-6, rtol=0)
      self.assertEqual(clients_dropped(output.metrics), 1)


class DropNonFiniteFactoryTest(tf.test.TestCase):

  def test_zeroes_non_finite_clients_with_their_weight(self):
    value_type = tff.TensorType(np.float32, (2,))
    values = [np.float32([1, 2]), np.float32([np.nan, 0]), np.float32([3, -4]),
              np.float32([0, np.inf])]
    weights = [1.0, 0.0, 3.0, 2.0]

    def quantized(v):
      return dorefa_g(v, 8, noise=np.zeros_like(v))

    for inner, expected in (
        (None, np.average([values[0], values[2]], axis=0, weights=[1, 3])),
        (QuantizedMeanFactory(8, stochastic=False),
         np.average([quantized(values[0]), quantized(values[2])], axis=0, weights=[1, 3])),
        (CoordinateMedianFactory(), np.median([values[0], values[2]], axis=0))):
      process = DropNonFiniteFactory(inner).create(value_type, tff.TensorType(np.float32))
      output = process.next(process.initialize(), values, weights)
      self.assertEqual(output.measurements["clients_dropped"], 2)
      self.assertAllClose(output.result, expected, atol=1e-6, rtol=0)
      alone = process.next(process.initialize(), values[1:2], weights[1:2])
      self.assertEqual(alone.measurements["clients_dropped"], 1)
      self.assertTrue(np.all(np.isnan(alone.result)))

  def test_a_non_finite_weight_drops_its_client(self):
    process = DropNonFiniteFactory().create(tff.TensorType(np.float32, (1,)),
                                            tff.TensorType(np.float32))
    output = process.next(process.initialize(), [np.float32([1]), np.float32([5])],
                          [np.float32(np.inf), 1.0])
    self.assertEqual(output.measurements["clients_dropped"], 1)
    self.assertAllClose(output.result, [5.0])

if __name__ == "__main__":
  tf.test.main()
