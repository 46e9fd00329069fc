"""Local fine-tuning after FL: the Keras steps against NumPy SGD from the same global
model, client by client, and the batches it takes."""

import numpy as np
import tensorflow as tf

from tff_course.errors import ConfigError
from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.federation import build_federation
from tff_course.experiment.local_fine_tuning import fine_tuned_accuracy, step_batches
from tff_course.scratch.mlp import forward, loss_and_gradients

STEPS, LR, BATCH = 4, 0.3, 16


class LocalFineTuningTest(tf.test.TestCase):

  def test_matches_numpy_sgd_client_by_client(self):
    config = ExperimentConfig(data=DataConfig(dataset="synthetic", client_holdout=0.3),
                              train=TrainConfig(model="mlp"))
    with build_federation(config) as federation:
      model = federation.build_keras_model()
      trainable = [w.numpy() for w in model.trainable_weights]
      train, held = federation.dataset.train, federation.client_test
      owners = {d.id: d.indices for d in federation.devices}
      got = fine_tuned_accuracy(model, trainable, [], train, owners, held,
                                federation.dataset.modality, steps=STEPS, learning_rate=LR,
                                batch_size=BATCH)
    expected = []
    for client in got.clients:
      params = [w.astype(np.float64) for w in trainable]
      rows = owners[client]
      for batch in step_batches(len(rows), BATCH, STEPS):
        _, grads = loss_and_gradients(params, train.x[rows[batch]].astype(np.float64),
                                      train.y[rows[batch]])
        params = [p - LR * g for p, g in zip(params, grads)]
      mine = held.client_ids == client
      logits, _ = forward(params, held.x[mine].astype(np.float64))
      expected.append(int(np.sum(np.argmax(logits, axis=1) == held.y[mine])))
    self.assertAllEqual(got.correct, expected)
    self.assertLen(got.clients, len(federation.devices))

  def test_batches_wrap_in_stored_order(self):
    self.assertAllEqual(step_batches(5, 2, 4), [[0, 1], [2, 3], [4, 0], [1, 2]])
    self.assertAllEqual(step_batches(3, 8, 2), [[0, 1, 2], [0, 1, 2]])
    with self.assertRaisesRegex(ConfigError, r"^fine-tuning: got steps 0 and batch size 2, "):
      step_batches(5, 2, 0)


if __name__ == "__main__":
  tf.test.main()
