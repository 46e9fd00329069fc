"""The client-state store: states by client and round, committed with checkpoints,
restored exactly, pruned, and refused when they belong to another run."""

import os

import numpy as np
import tensorflow as tf

from tff_course.errors import ConfigError
from tff_course.experiment.client_states import KEEP_MANIFESTS, ClientStateStore

IDENTITY = {"kind": "scaffold controls", "run": "r", "shapes": [[2]]}


def _zeros():
  return [np.zeros(2, np.float32)]


class ClientStateStoreTest(tf.test.TestCase):

  def test_a_client_has_the_initial_state_until_it_gets_one(self):
    store = ClientStateStore(self.create_tempdir().full_path, IDENTITY, _zeros)
    self.assertAllEqual(store.get(3), [[0.0, 0.0]])
    store.put(3, [np.array([1.0, 2.0])], round_num=1)
    self.assertAllEqual(store.get(3), [[1.0, 2.0]])
    self.assertAllEqual(store.get(4), [[0.0, 0.0]])
    self.assertEqual(store.clients(), [3])

  def test_restore_goes_back_to_the_committed_round_and_deletes_later_writes(self):
    directory = self.create_tempdir().full_path
    store = ClientStateStore(directory, IDENTITY, _zeros)
    store.put(0, [np.array([1.0, 1.0])], round_num=1)
    store.commit(1)
    store.put(0, [np.array([2.0, 2.0])], round_num=2)
    store.put(1, [np.array([5.0, 5.0])], round_num=2)
    reopened = ClientStateStore(directory, IDENTITY, _zeros)
    reopened.restore(1)
    self.assertAllEqual(reopened.get(0), [[1.0, 1.0]])
    self.assertAllEqual(reopened.get(1), [[0.0, 0.0]])
    self.assertNotIn("c0-r2.npz", os.listdir(directory))
    reopened.restore(0)
    self.assertAllEqual(reopened.get(0), [[0.0, 0.0]])
    with self.assertRaisesRegex(ConfigError, "no client states of round 7"):
      reopened.restore(7)

  def test_commit_keeps_the_last_manifests_and_the_files_they_name(self):
    directory = self.create_tempdir().full_path
    store = ClientStateStore(directory, IDENTITY, _zeros)
    store.put(0, [np.array([9.0, 9.0])], round_num=1)
    for round_num in range(2, 8):
      store.put(1, [np.full(2, round_num, np.float32)], round_num=round_num)
      store.commit(round_num)
    names = sorted(os.listdir(directory))
    manifests = [n for n in names if n.startswith("manifest")]
    self.assertLen(manifests, KEEP_MANIFESTS)
    self.assertEqual(sorted(n for n in names if n.startswith("c1-")),
                     ["c1-r5.npz", "c1-r6.npz", "c1-r7.npz"])
    self.assertIn("c0-r1.npz", names)
    store.restore(5)
    self.assertAllEqual(store.get(1), [[5.0, 5.0]])
    self.assertAllEqual(store.get(0), [[9.0, 9.0]])

  def test_states_of_another_run_are_one_line(self):
    directory = self.create_tempdir().full_path
    ClientStateStore(directory, IDENTITY, _zeros)
    other = {**IDENTITY, "run": "other", "shapes": [[3]]}
    with self.assertRaisesRegex(ConfigError, r"client states of another run \(its run, "
                                             r"shapes differ: run='r', shapes=\[\[2\]\] here"):
      ClientStateStore(directory, other, _zeros)


if __name__ == "__main__":
  tf.test.main()
