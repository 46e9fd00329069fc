"""FedPer and FedBN: TFF rounds against a NumPy FedPer (and, with nothing personal, a NumPy
FedAvg), batch-normalization layers that stay with each client, and one-line errors."""

import numpy as np
import tensorflow as tf

from tests.test_scratch import SIZES, keras_mlp
from tests.toy_clients import ROUNDS_CLIENTS, toy_clients
from tff_course.algorithms.model_fn import keras_model_fn
from tff_course.algorithms.partial_personal import (PersonalParts, build_partial_personal,
                                                    head_parts, normalization_parts)
from tff_course.errors import ConfigError
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.runner import run_experiment
from tff_course.scratch.fedavg import fedavg_round
from tff_course.scratch.fedper import fedper_round

LR = 0.1


def _keras_bn_mlp():
  return tf.keras.Sequential([tf.keras.layers.InputLayer(input_shape=(SIZES[0],)),
                              tf.keras.layers.Dense(16),
                              tf.keras.layers.BatchNormalization(),
                              tf.keras.layers.ReLU(),
                              tf.keras.layers.Dense(SIZES[2])])


class FedPerTest(tf.test.TestCase):

  def run_rounds(self, parts, server_lr=1.0):
    data, arrays = toy_clients()
    process = build_partial_personal(keras_model_fn(keras_mlp, data[0].element_spec), parts,
                                     client_lr=LR, server_lr=server_lr)
    state = process.initialize()
    stored = {c: process.initial_client_state() for c in range(len(data))}
    outputs = []
    for chosen in ROUNDS_CLIENTS:
      output = process.next(state, [data[c] for c in chosen], [stored[c] for c in chosen])
      for c, new in zip(chosen, output.client_states):
        stored[c] = new
      outputs.append((state, chosen, output))
      state = output.state
    return process, arrays, outputs, stored

  def test_rounds_match_numpy_fedper_with_heads_kept_per_client(self):
    parts = head_parts(keras_mlp())
    self.assertEqual(parts, PersonalParts((2, 3)))
    process, arrays, outputs, stored = self.run_rounds(parts, server_lr=0.8)
    params = [np.asarray(w, np.float64) for w in
              process.get_model_weights(outputs[0][0]).trainable]
    heads = {}
    for _, chosen, output in outputs:
      params, new = fedper_round(params, [heads.get(c) for c in chosen],
                                 [arrays[c] for c in chosen], personal=parts.trainable,
                                 learning_rate=LR, batch_size=8, server_lr=0.8)
      heads.update(zip(chosen, new))
      self.assertAllClose(process.get_model_weights(output.state).trainable, params,
                          atol=1e-5, rtol=1e-4)
    initial = process.get_model_weights(outputs[0][0]).trainable
    self.assertAllClose(params[2:], [np.asarray(w) for w in initial[2:]])
    for client, head in heads.items():
      self.assertAllClose(stored[client][:-1], head, atol=1e-5, rtol=1e-4)
      own, _ = process.personal_weights(stored[client], params, [])
      self.assertAllClose(own[2:], head, atol=1e-5, rtol=1e-4)
      self.assertAllClose(own[:2], params[:2])
    self.assertEqual(int(outputs[-1][2].metrics["aggregator"]["bits_up"]),
                     3 * (32 * sum(p.size for p in params[:2]) + 32))

  def test_nothing_personal_is_fedavg(self):
    process, arrays, outputs, _ = self.run_rounds(PersonalParts(()))
    params = [np.asarray(w, np.float64) for w in
              process.get_model_weights(outputs[0][0]).trainable]
    for _, chosen, output in outputs:
      params, _ = fedavg_round(params, [arrays[c] for c in chosen], learning_rate=LR,
                               batch_size=8)
      self.assertAllClose(process.get_model_weights(output.state).trainable, params,
                          atol=1e-5, rtol=1e-4)


class FedBnTest(tf.test.TestCase):

  def test_normalization_layers_stay_with_each_client(self):
    data, _ = toy_clients()
    parts = normalization_parts(_keras_bn_mlp())
    self.assertEqual(parts, PersonalParts((2, 3), (0, 1)))
    process = build_partial_personal(keras_model_fn(_keras_bn_mlp, data[0].element_spec),
                                     parts, client_lr=LR, name="FedBN")
    state = process.initialize()
    start = process.get_model_weights(state)
    output = process.next(state, data[:2], [process.initial_client_state()] * 2)
    end = process.get_model_weights(output.state)
    for i in (2, 3):
      self.assertAllEqual(end.trainable[i], start.trainable[i])
    self.assertAllEqual(end.non_trainable, start.non_trainable)
    self.assertNotAllClose(end.trainable[0], start.trainable[0])
    first, second = output.client_states
    self.assertNotAllClose(first[2], second[2])
    trainable, non_trainable = process.personal_weights(first, end.trainable,
                                                        end.non_trainable)
    self.assertAllClose(trainable[2:4], first[:2])
    self.assertAllClose(non_trainable, first[2:4])
    self.assertAllClose(trainable[:2], end.trainable[:2])
    self.assertNotAllClose(first[2], np.zeros_like(first[2]), msg="moving mean never moved")

  def test_bad_models_are_one_line(self):
    with self.assertRaisesRegex(ConfigError, r"^fedbn: model 'sequential\S*' has no "):
      normalization_parts(keras_mlp())
    with self.assertRaisesRegex(ConfigError, r"^fedper head layers: got 2, expected 1 to 1 "):
      head_parts(keras_mlp(), 2)


class PartialPersonalRunTest(tf.test.TestCase):

  def config(self, algorithm):
    return ExperimentConfig(
        name=algorithm, data=DataConfig(dataset="synthetic", client_holdout=0.25),
        train=TrainConfig(model="mlp", algorithm=algorithm, rounds=2, client_lr=0.1,
                          client_fraction=0.5, epochs=1, batch_size=10, eval_every=2,
                          checkpoint_every=2))

  def test_fedper_runs_and_scores_each_clients_own_head(self):
    result = run_experiment(self.config("fedper"), self.create_tempdir().full_path,
                            progress=False)
    self.assertBetween(result["personal_accuracy_p10"], 0.0, result["personal_accuracy_mean"])
    self.assertNotEqual(result["personal_accuracy_mean"], result["client_accuracy_mean"])

  def test_fedbn_needs_normalization_layers(self):
    with self.assertRaisesRegex(ConfigError, r"^train.algorithm 'fedbn' with train.model "
                                             r"'mlp': fedbn: model 'mlp' has no batch-"):
      run_experiment(self.config("fedbn"), self.create_tempdir().full_path, progress=False)


if __name__ == "__main__":
  tf.test.main()
