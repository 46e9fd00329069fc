"""SCAFFOLD's TFF rounds against the NumPy reference, options I and II, with every
client's control carried across rounds."""

import json
import os

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tests.test_scratch import keras_mlp
from tests.toy_clients import ROUNDS_CLIENTS, toy_clients
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.algorithms.scaffold import build_scaffold
from tff_course.data import load_dataset
from tff_course.errors import ConfigError
from tff_course.experiment.client_states import IDENTITY_FILE, STATES_DIR, ClientStateStore
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.runner import run_experiment
from tff_course.partition import natural_partition
from tff_course.sampling import create_device
from tff_course.scratch.scaffold import scaffold_round

class ScaffoldTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters("I", "II")
  def test_rounds_match_numpy_scaffold_with_controls_kept_per_client(self, option):
    data, arrays = toy_clients()
    process = build_scaffold(keras_model_fn(keras_mlp, data[0].element_spec),
                             client_lr=0.1, num_clients=5, server_lr=0.8, option=option)
    state = process.initialize()
    params = [np.asarray(w, np.float64) for w in process.get_model_weights(state).trainable]
    server = [np.zeros_like(p) for p in params]
    controls = {c: process.initial_client_state() for c in range(5)}
    expected = {c: [np.zeros_like(p) for p in params] for c in range(5)}
    for chosen in ROUNDS_CLIENTS:
      output = process.next(state, [data[c] for c in chosen], [controls[c] for c in chosen])
      state = output.state
      params, server, new = scaffold_round(
          params, server, [expected[c] for c in chosen], [arrays[c] for c in chosen],
          learning_rate=0.1, batch_size=8, num_clients=5, server_lr=0.8, option=option)
      for c, got, want in zip(chosen, output.client_states, new):
        controls[c], expected[c] = got, want
        self.assertAllClose(got, want, atol=1e-5, rtol=1e-4)
      self.assertAllClose(process.get_model_weights(state).trainable, params,
                          atol=1e-5, rtol=1e-4)
      self.assertAllClose(list(state["control"]), server, atol=1e-5, rtol=1e-4)
    self.assertGreater(max(float(np.abs(s).max()) for s in server), 1e-3)
    train = output.metrics["client_work"]["train"]
    self.assertEqual(int(train["num_examples"]), sum(len(arrays[c][1]) for c in chosen))
    parameters = sum(p.size for p in params)
    self.assertEqual(int(output.metrics["aggregator"]["bits_up"]), 3 * 2 * 32 * parameters)

  def test_controls_must_match_the_clients(self):
    toy = load_dataset("toy_hetero", num_clients=2, samples_per_client=20)
    data = create_device(0, toy, natural_partition(toy)[0], batch_size=8).dataset
    process = build_scaffold(keras_model_fn(keras_mlp, data.element_spec), client_lr=0.1,
                             num_clients=2)
    with self.assertRaisesRegex(ValueError, "1 clients' data but 0 client states"):
      process.next(process.initialize(), [data], [])

  def test_bad_settings_are_one_line(self):
    cases = [({"option": "III"}, r"^scaffold option: got 'III', expected one of I, II"),
             ({"client_lr": 0.0}, r"^client_lr: got 0.0, expected a number > 0$"),
             ({"num_clients": 0}, r"^num_clients: got 0, expected a whole number >= 1$")]
    for changes, message in cases:
      settings = {"client_lr": 0.1, "num_clients": 3, **changes}
      with self.assertRaisesRegex(ConfigError, message):
        build_scaffold(None, **settings)


class ScaffoldRunTest(tf.test.TestCase):

  def config(self, option="II"):
    return ExperimentConfig(
        name="scaffold", data=DataConfig(dataset="synthetic", partition="natural"),
        train=TrainConfig(model="mlp", algorithm="scaffold", scaffold_option=option,
                          rounds=4, client_lr=0.05, client_fraction=0.2, epochs=1,
                          batch_size=10, checkpoint_every=2, eval_every=2))

  def test_an_interrupted_run_resumes_to_the_same_result_with_the_same_controls(self):
    whole_dir = self.create_tempdir().full_path
    whole = run_experiment(self.config(), whole_dir, progress=False)
    run_dir = self.create_tempdir().full_path

    def stop(round_num):
      if round_num == 3:
        raise KeyboardInterrupt

    with self.assertRaises(KeyboardInterrupt):
      run_experiment(self.config(), run_dir, progress=False, on_round_end=stop)
    resumed = run_experiment(self.config(), run_dir, progress=False)
    self.assertEqual(whole["test_loss"], resumed["test_loss"])
    self.assertEqual(whole["train_loss"], resumed["train_loss"])
    stores = [ClientStateStore(os.path.join(d, STATES_DIR), identity, None)
              for d, identity in ((whole_dir, _identity(whole_dir)),
                                  (run_dir, _identity(run_dir)))]
    for store in stores:
      store.restore(4)
    self.assertEqual(stores[0].clients(), stores[1].clients())
    self.assertNotEmpty(stores[0].clients())
    for client in stores[0].clients():
      for first, second in zip(stores[0].get(client), stores[1].get(client)):
        self.assertAllEqual(first, second)
    self.assertGreater(resumed["bytes_up"], 0)

  def test_option_i_runs_and_differs_from_option_ii(self):
    first = run_experiment(self.config("I"), self.create_tempdir().full_path, progress=False)
    second = run_experiment(self.config("II"), self.create_tempdir().full_path,
                            progress=False)
    self.assertNotEqual(first["train_loss"], second["train_loss"])


def _identity(run_dir):
  with open(os.path.join(run_dir, STATES_DIR, IDENTITY_FILE)) as stream:
    return json.load(stream)


if __name__ == "__main__":
  tf.test.main()
