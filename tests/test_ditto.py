"""Ditto's TFF rounds against the NumPy reference, with every client's personal model
carried across rounds; its settings' one-line errors; a run through the runner."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tests.test_scratch import keras_mlp
from tests.toy_clients import ROUNDS_CLIENTS, toy_clients
from tff_course.algorithms.ditto import build_ditto
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.errors import ConfigError
from tff_course.experiment.client_states import STATES_DIR
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.runner import run_experiment
from tff_course.scratch.ditto import ditto_round

class DittoTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(0.0, 0.5)
  def test_rounds_match_numpy_ditto_with_personal_models_kept(self, ditto_lambda):
    data, arrays = toy_clients()
    process = build_ditto(keras_model_fn(keras_mlp, data[0].element_spec), client_lr=0.1,
                          ditto_lambda=ditto_lambda, server_lr=0.8)
    state = process.initialize()
    params = [np.asarray(w, np.float64) for w in process.get_model_weights(state).trainable]
    stored = {c: process.initial_client_state() for c in range(5)}
    expected = {c: None for c in range(5)}
    for chosen in ROUNDS_CLIENTS:
      output = process.next(state, [data[c] for c in chosen], [stored[c] for c in chosen])
      state = output.state
      params, personal = ditto_round(params, [expected[c] for c in chosen],
                                     [arrays[c] for c in chosen], learning_rate=0.1,
                                     ditto_lambda=ditto_lambda, batch_size=8, server_lr=0.8)
      for c, got, want in zip(chosen, output.client_states, personal):
        stored[c], expected[c] = got, want
        self.assertAllClose(got[:-1], want, atol=1e-5, rtol=1e-4)
        self.assertAllEqual(got[-1], [1.0])
      self.assertAllClose(process.get_model_weights(state).trainable, params,
                          atol=1e-5, rtol=1e-4)
    now = process.get_model_weights(state)
    self.assertAllClose(process.personal_weights(stored[1], now.trainable, [])[0],
                        expected[1])
    self.assertAllClose(
        process.personal_weights(process.initial_client_state(), now.trainable, [])[0],
        now.trainable)
    gap = max(float(np.abs(a - b).max()) for a, b in zip(expected[0], params))
    self.assertGreater(gap, 1e-3)
    parameters = sum(p.size for p in params)
    self.assertEqual(int(output.metrics["aggregator"]["bits_up"]), 3 * (32 * parameters + 32))

  def test_bad_settings_are_one_line(self):
    cases = [({"ditto_lambda": -1.0}, r"^ditto lambda: got -1.0, expected a number >= 0 "),
             ({"client_lr": 0.0}, r"^client_lr: got 0.0, expected a number > 0$")]
    for changes, message in cases:
      with self.assertRaisesRegex(ConfigError, message):
        build_ditto(None, **{"client_lr": 0.1, "ditto_lambda": 0.1, **changes})


class DittoRunTest(tf.test.TestCase):

  def test_a_run_scores_personal_models_on_each_clients_held_out_data(self):
    config = ExperimentConfig(
        name="ditto", data=DataConfig(dataset="synthetic", client_holdout=0.25),
        train=TrainConfig(model="mlp", algorithm="ditto", ditto_lambda=0.0, rounds=3,
                          client_lr=0.1, client_fraction=0.5, epochs=1, batch_size=10,
                          eval_every=3, checkpoint_every=3))
    run_dir = self.create_tempdir().full_path
    result = run_experiment(config, run_dir, progress=False)
    for prefix in ("client", "personal"):
      self.assertBetween(result[f"{prefix}_accuracy_p10"], 0.0,
                         result[f"{prefix}_accuracy_mean"])
    self.assertNotEqual(result["personal_accuracy_mean"], result["client_accuracy_mean"])
    self.assertTrue(os.path.isdir(os.path.join(run_dir, STATES_DIR)))
    with self.assertRaisesRegex(ConfigError, r"^train.ditto_lambda: got -0.5, expected a "):
      config.with_overrides(["train.ditto_lambda=-0.5"])
    with self.assertRaisesRegex(ConfigError, r"^train.client_momentum: got 0.9, but Ditto "):
      config.with_overrides(["train.client_momentum=0.9"])


if __name__ == "__main__":
  tf.test.main()
