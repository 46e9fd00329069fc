"""Non-uniform client selection in the runner: rounds against a NumPy FedAvg with the same
draws (unbiased p_k / (K q_k) weights summed, or the usual example-weighted mean),
power-of-choice's choice and traffic, each client's held-out split, and the settings'
one-line errors."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.errors import ConfigError
from tff_course.experiment.client_choice import ClientChoice
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.federation import build_federation, initial_weights
from tff_course.experiment.metrics_file import read_metrics
from tff_course.experiment.records import MODEL_WEIGHTS
from tff_course.experiment.runner import run_experiment
from tff_course.partition import natural_partition
from tff_course.partition.holdout import client_split, held_out_count, hold_out
from tff_course.data import load_dataset
from tff_course.sampling import round_seed
from tff_course.scratch.sgd import sgd

LR = 0.2
ROUNDS = 2


def _config(**train):
  settings = dict(model="mlp", rounds=ROUNDS, client_lr=LR, client_fraction=0.2, epochs=1,
                  batch_size=None, eval_every=ROUNDS, checkpoint_every=ROUNDS)
  settings.update(train)
  return ExperimentConfig(name="choice", data=DataConfig(dataset="synthetic"),
                          train=TrainConfig(**settings))


def _numpy_rounds(federation, rounds):
  """FedAvg in NumPy with the federation's draws: one full-batch step per drawn client;
  unbiased: w - sum_j weight_j delta_j, else the example-weighted mean delta."""
  params = [np.asarray(w, np.float64) for w in initial_weights(federation).trainable]
  train, choice = federation.dataset.train, federation.choice
  for round_num in range(1, rounds + 1):
    positions = choice.positions(round_seed(federation.config.train.seed, round_num))
    deltas, sizes = [], []
    for position in positions:
      indices = federation.devices[position].indices
      local, _ = sgd(params, train.x[indices].astype(np.float64), train.y[indices],
                     learning_rate=LR, batch_size=None)
      deltas.append([p - q for p, q in zip(params, local)])
      sizes.append(len(indices))
    weights = (choice.update_weights(positions) if choice.unbiased else
               np.asarray(sizes, np.float64) / np.sum(sizes))
    params = [p - sum(w * d[i] for w, d in zip(weights, deltas))
              for i, p in enumerate(params)]
  return params


class SelectionRoundsTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(("dirichlet", "unbiased"), ("dirichlet", "examples"),
                            ("size", "unbiased"))
  def test_rounds_match_numpy_fedavg_with_the_same_draws(self, source, weights):
    config = _config(selection=source, selection_weights=weights,
                     selection_alpha=0.5 if source == "dirichlet" else None)
    run_dir = self.create_tempdir().full_path
    run_experiment(config, run_dir, progress=False)
    with build_federation(config) as federation:
      expected = _numpy_rounds(federation, ROUNDS)
      drawn = federation.choice.positions(round_seed(0, 1))
      model = federation.build_keras_model()
    model.load_weights(os.path.join(run_dir, MODEL_WEIGHTS))
    self.assertAllClose(model.trainable_weights, expected, atol=2e-5, rtol=1e-4)
    if source == "dirichlet":
      self.assertLess(len(set(drawn.tolist())), len(drawn), "no client drawn twice")

  def test_power_of_choice_trains_the_candidates_of_highest_loss(self):
    config = _config(power_of_choice=12, rounds=1, eval_every=1, checkpoint_every=1)
    run_dir = self.create_tempdir().full_path
    run_experiment(config, run_dir, progress=False)
    metrics = read_metrics(run_dir)
    self.assertEqual(metrics["candidates"][0], 12)
    self.assertEqual(metrics["messages_down"][0], 12)
    self.assertEqual(metrics["messages_up"][0], 6 + 12)
    with build_federation(config) as federation:
      model = federation.build_keras_model()
      start = initial_weights(federation)
      start.assign_weights_to(model)
      train = federation.dataset.train
      seen = {}

      def losses(positions):
        values = []
        for p in positions:
          x, y = train.x[federation.devices[p].indices], train.y[federation.devices[p].indices]
          loss = tf.keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True)
          values.append(float(tf.reduce_mean(loss)))
        seen.update(zip(positions.tolist(), values))
        return np.array(values)

      kept = federation.choice.positions(round_seed(0, 1), losses)
    self.assertLen(kept, 6)
    self.assertGreaterEqual(min(seen[p] for p in kept),
                            max(v for p, v in seen.items() if p not in kept.tolist()))


class ClientChoiceTest(tf.test.TestCase):

  def test_uniform_unbiased_weights_are_p_k_n_over_k(self):
    choice = ClientChoice(probabilities=np.full(4, 0.25), objective=np.array([.1, .2, .3, .4]),
                          per_round=2, candidates=None, unbiased=True, uniform=True)
    positions = choice.positions(seed=3)
    self.assertLen(set(positions.tolist()), 2)
    self.assertAllClose(choice.update_weights(positions), choice.objective[positions] * 4 / 2)

  def test_bad_settings_are_one_line(self):
    cases = [
        (dict(selection="given", selection_probabilities=(0.5, 0.5)),
         r"^train.selection_probabilities: got 2 values, expected one per client \(30\)$"),
        (dict(power_of_choice=3), r"^train.power_of_choice: got d = 3 candidates for m = 6 "),
        (dict(power_of_choice=31), r"^train.power_of_choice: got d = 31, expected at most 30"),
    ]
    for settings, message in cases:
      with self.assertRaisesRegex(ConfigError, message):
        build_federation(_config(**settings))
    config_cases = [
        (dict(selection="random"), r"^train.selection: got 'random', expected one of uniform"),
        (dict(selection="dirichlet"), r"^train.selection_alpha: got None with"),
        (dict(selection_alpha=0.5), r"^train.selection_alpha: got 0.5 with train.selection "),
        (dict(selection="dirichlet", selection_alpha=-1.0),
         r"^train.selection_alpha: got -1.0, expected a number > 0$"),
        (dict(selection_weights="fair"), r"^train.selection_weights: got 'fair', expected"),
        (dict(power_of_choice=8, selection_weights="unbiased"),
         r"^train.selection_weights: got 'unbiased' with train.power_of_choice"),
        (dict(selection="size", algorithm="scaffold"), r"^train.selection: non-uniform"),
        (dict(selection_weights="unbiased", aggregator="median"),
         r"^train.aggregator: got 'median', but unbiased"),
    ]
    for settings, message in config_cases:
      with self.assertRaisesRegex(ConfigError, message):
        _config(**settings)


class HoldOutTest(tf.test.TestCase):

  def test_every_client_keeps_most_and_holds_out_a_seeded_share(self):
    toy = load_dataset("synthetic")
    partition = natural_partition(toy)
    kept, held = hold_out(partition, 0.25, seed=1)
    for client, indices in partition.items():
      self.assertAllEqual(np.sort(np.concatenate([kept[client], held[client]])), indices)
      self.assertLen(held[client], held_out_count(len(indices), 0.25))
      self.assertEmpty(np.intersect1d(kept[client], held[client]))
    again, _ = hold_out(partition, 0.25, seed=1)
    other, _ = hold_out(partition, 0.25, seed=2)
    self.assertAllEqual(again[0], kept[0])
    self.assertNotAllEqual(other[0], kept[0])
    split = client_split(toy.train, held)
    self.assertLen(split, sum(len(v) for v in held.values()))
    first = split.client_ids == list(held)[0]
    self.assertAllEqual(split.y[first], toy.train.y[held[list(held)[0]]])

  def test_counts_keep_a_training_example(self):
    self.assertEqual([held_out_count(n, 0.5) for n in (0, 1, 2, 3, 10)], [0, 0, 1, 2, 5])
    self.assertEqual(held_out_count(2, 0.9), 1)
    self.assertEqual(held_out_count(100, 0.001), 1)

  def test_a_run_reports_the_clients_held_out_accuracy(self):
    config = _config()
    config = ExperimentConfig(name="held", data=DataConfig(dataset="synthetic",
                                                           client_holdout=0.2),
                              train=config.train)
    result = run_experiment(config, self.create_tempdir().full_path, progress=False)
    self.assertBetween(result["client_accuracy_p10"], 0.0, result["client_accuracy_mean"])
    with self.assertRaisesRegex(ConfigError, r"^data.client_holdout: got 1.0, expected a "):
      ExperimentConfig(data=DataConfig(dataset="synthetic", client_holdout=1.0))


if __name__ == "__main__":
  tf.test.main()
