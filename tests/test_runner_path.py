"""The runner's client path (record files, TensorBatches, packed calls, the scheduled
client rate) trains exactly what NumPy FedAvg (tff_course.scratch) trains.

The clients' data order is the runner's own: each round a client's records are visited
in the permutation `stateless_shuffle(range(n), seed=(shuffle seed, pass 0))`, the
shuffle seed being the second entry of its input row; the NumPy clients get their
examples in that order and train on them unshuffled (one epoch, batches of 5, so the
order matters). The client rate of round r (0-based) is computed here from the
formula, not by tff_course.algorithms.schedules.
"""

import math

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.federation import build_federation, build_process, initial_weights
from tff_course.scratch import fedavg_round, loss_and_gradients

PEAK, ROUNDS, WARMUP = 0.2, 5, 2


def config(client_slots, clients=4, model="mlp", batch_size=5):
  return ExperimentConfig(
      name="path", data=DataConfig(dataset="toy_hetero", partition="natural",
                                   options={"num_clients": clients, "samples_per_client": 15}),
      train=TrainConfig(model=model, client_fraction=1.0, epochs=1, batch_size=batch_size,
                        client_lr=PEAK, lr_schedule="cosine", warmup_rounds=WARMUP,
                        rounds=ROUNDS, seed=3, client_slots=client_slots))


def cosine_rate(round_index):
  """Linear warmup to PEAK over WARMUP rounds, then cosine to 0 at ROUNDS."""
  if round_index < WARMUP:
    return PEAK * (round_index + 1) / WARMUP
  progress = (round_index - WARMUP) / (ROUNDS - WARMUP)
  return 0.5 * PEAK * (1 + math.cos(math.pi * progress))


def shuffled_clients(federation, chosen, round_num):
  """Each chosen client's (x, y) in the order its records are visited in `round_num`."""
  clients = []
  for device in chosen:
    seed = int(federation.client_input(device, round_num)[1])
    order = tf.random.experimental.stateless_shuffle(
        tf.range(len(device.indices)), seed=tf.constant([seed, 0], tf.int64)).numpy()
    indices = device.indices[order]
    clients.append((federation.dataset.train.x[indices].astype(np.float32),
                    federation.dataset.train.y[indices]))
  return clients


class RunnerPathTest(tf.test.TestCase, parameterized.TestCase):

  def test_the_rates_differ_from_round_to_round(self):
    self.assertAllClose([cosine_rate(r) for r in range(ROUNDS)],
                        [0.1, 0.2, 0.2, 0.15, 0.05])

  @parameterized.parameters(0, 2)
  def test_rounds_match_numpy_fedavg(self, client_slots):
    with build_federation(config(client_slots)) as federation:
      process = build_process(federation)
      state = process.set_model_weights(process.initialize(), initial_weights(federation))
      params = [np.asarray(w) for w in initial_weights(federation).trainable]
      for round_num in range(1, ROUNDS + 1):
        chosen = federation.sample(round_num)
        self.assertLen(chosen, 4)
        data = federation.client_data(chosen, round_num)
        self.assertLen(data, client_slots or 4)
        clients = shuffled_clients(federation, chosen, round_num)
        params, _ = fedavg_round(params, clients, learning_rate=cosine_rate(round_num - 1),
                                 batch_size=5)
        state = process.next(state, data).state
        got = process.get_model_weights(state).trainable
        for expected, actual in zip(params, got):
          self.assertAllClose(expected, actual, atol=1e-5, rtol=0, msg=f"round {round_num}")
      stored_order = [(federation.dataset.train.x[d.indices], federation.dataset.train.y[
          d.indices]) for d in chosen]
      unshuffled, _ = fedavg_round(got, stored_order, learning_rate=0.1, batch_size=5)
      shuffled, _ = fedavg_round(got, clients, learning_rate=0.1, batch_size=5)
      self.assertGreater(max(float(np.abs(a - b).max())
                             for a, b in zip(unshuffled, shuffled)), 1e-4)

  def test_one_full_batch_step_reveals_each_rounds_client_rate(self):
    """One client, one full-batch step a round on a linear model: the update is the
    round's rate times the gradient, so their ratio is the rate the client used."""
    with build_federation(config(2, clients=1, model="logistic", batch_size=None)) as fed:
      process = build_process(fed)
      state = process.set_model_weights(process.initialize(), initial_weights(fed))
      params = [np.asarray(w) for w in initial_weights(fed).trainable]
      device, = fed.devices
      x, y = fed.dataset.train.x[device.indices], fed.dataset.train.y[device.indices]
      rates = []
      for round_num in range(1, ROUNDS + 1):
        _, gradients = loss_and_gradients(params, x, y)
        state = process.next(state, fed.client_data(fed.sample(round_num), round_num)).state
        after = [np.asarray(w) for w in process.get_model_weights(state).trainable]
        steps = np.concatenate([(p - a).ravel() for p, a in zip(params, after)])
        flat = np.concatenate([g.ravel() for g in gradients])
        rates.append(float(steps @ flat / (flat @ flat)))
        self.assertAllClose(steps, rates[-1] * flat, atol=1e-6, rtol=0)
        params = after
    self.assertAllClose(rates, [cosine_rate(r) for r in range(ROUNDS)], rtol=1e-4, atol=0)


if __name__ == "__main__":
  tf.test.main()
