"""Packed client calls train the same model as one call per client; the runner's
clients (input rows, TensorBatches) agree with TFF's own algorithms on datasets."""

import dataclasses

import numpy as np
import tensorflow as tf

from tff_course.aggregators.bits import sent_bytes
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.algorithms.packed import pack_inputs
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.federation import build_federation, build_process, initial_weights
from tff_course.runtime.tff_module import tff


def toy_config(**train):
  return ExperimentConfig(
      name="packed", data=DataConfig(dataset="toy_hetero", partition="natural",
                                     options={"num_clients": 5}),
      train=TrainConfig(**{"model": "mlp", "client_fraction": 1.0, "epochs": 2,
                           "batch_size": 7, "client_lr": 0.1, **train}))


def one_round(config):
  """(trainable weights, train metrics, bytes up) after one round of `config`."""
  with build_federation(config) as federation:
    process = build_process(federation)
    state = process.set_model_weights(process.initialize(), initial_weights(federation))
    chosen = federation.sample(1)
    data = federation.client_data(chosen, 1)
    output = process.next(state, data)
    weights = process.get_model_weights(output.state).trainable
    return (weights, output.metrics["client_work"]["train"],
            sent_bytes(output.metrics["aggregator"]["bits_up"], len(data), len(chosen)))


class PackInputsTest(tf.test.TestCase):

  def test_splits_in_order_into_near_equal_nonempty_slots(self):
    rows = [np.array([i, 0]) for i in range(7)]
    packed = pack_inputs(rows, 3)
    self.assertEqual([len(slot) for slot in packed], [3, 2, 2])
    self.assertEqual([int(r[0]) for slot in packed for r in slot], list(range(7)))
    self.assertLen(pack_inputs(rows[:2], 5), 2)
    self.assertEqual(pack_inputs([], 2), [])
    with self.assertRaisesRegex(ValueError, "slots: got 0"):
      pack_inputs(rows, 0)


class PackedRoundTest(tf.test.TestCase):

  def assert_same_round(self, config):
    reference, metrics, sent = one_round(dataclasses.replace(
        config, train=dataclasses.replace(config.train, client_slots=0)))
    for slots in (1, 2, 4):
      weights, packed_metrics, packed_sent = one_round(dataclasses.replace(
          config, train=dataclasses.replace(config.train, client_slots=slots)))
      for a, b in zip(reference, weights):
        self.assertAllClose(a, b, atol=1e-6, rtol=0)
      self.assertEqual(packed_metrics["num_examples"], metrics["num_examples"])
      self.assertAllClose(packed_metrics["loss"], metrics["loss"], atol=1e-6)
      self.assertAllClose(packed_metrics["accuracy"], metrics["accuracy"], atol=1e-6)
      self.assertEqual(packed_sent, sent)
    self.assertGreater(metrics["num_examples"], 0)

  def test_fedavg_and_fedprox(self):
    self.assert_same_round(toy_config())
    self.assert_same_round(toy_config(algorithm="fedprox", mu=0.5, steps=3, epochs=None))

  def test_fedsgd_both_forms(self):
    for form in ("gradient", "weights"):
      self.assert_same_round(toy_config(algorithm="fedsgd", fedsgd_form=form))

  def test_other_aggregators_keep_one_call_per_client(self):
    with build_federation(toy_config(aggregator="median", client_slots=2)) as federation:
      self.assertEqual(federation.client_slots, 0)
      self.assertLen(federation.client_data(federation.sample(1), 1), 5)


class FedSgdGradientFormTest(tf.test.TestCase):

  def test_rows_client_work_matches_tff_build_fed_sgd_on_datasets(self):
    config = toy_config(algorithm="fedsgd", client_lr=0.3, client_slots=0)
    ours, _, _ = one_round(config)
    with build_federation(config) as federation:
      datasets = [tf.data.Dataset.from_tensors(batch) for device in federation.sample(1)
                  for batch in federation.client_batches(
                      federation.client_input(device, 1)).as_list()]
      model_fn = keras_model_fn(federation.build_keras_model, federation.element_spec())
      process = tff.learning.algorithms.build_fed_sgd(
          model_fn, server_optimizer_fn=tff.learning.optimizers.build_sgdm(0.3))
      state = process.set_model_weights(process.initialize(), initial_weights(federation))
      theirs = process.get_model_weights(process.next(state, datasets).state).trainable
    for a, b in zip(ours, theirs):
      self.assertAllClose(a, b, atol=1e-6, rtol=0)
    self.assertGreater(max(float(np.abs(a - b).max()) for a, b in zip(
        ours, initial_weights(federation).trainable)), 1e-3)


if __name__ == "__main__":
  tf.test.main()
