"""Client selection: where probabilities come from, their checks, draws with replacement
and their unbiased weights, and power-of-choice."""

import numpy as np
import tensorflow as tf

from tff_course.errors import ConfigError
from tff_course.sampling.client_selection import (check_probabilities, draw_with_replacement,
                                                  power_of_choice, power_of_choice_candidates,
                                                  selection_probabilities, unbiased_weights)


class ProbabilitiesTest(tf.test.TestCase):

  def test_uniform_size_given_and_dirichlet(self):
    self.assertAllClose(selection_probabilities("uniform", [5, 5, 10, 20]), [0.25] * 4)
    self.assertAllClose(selection_probabilities("size", [5, 5, 10, 20]),
                        [0.125, 0.125, 0.25, 0.5])
    self.assertAllClose(selection_probabilities("given", [1, 1], given=[0.3, 0.7]),
                        [0.3, 0.7])
    drawn = selection_probabilities("dirichlet", [1] * 50, alpha=0.1, seed=3)
    self.assertAllClose(drawn.sum(), 1.0)
    self.assertAllEqual(drawn, selection_probabilities("dirichlet", [1] * 50, alpha=0.1,
                                                       seed=3))
    self.assertGreater(np.sort(drawn)[-5:].sum(), 0.5)

  def test_bad_probabilities_are_one_line_each(self):
    cases = [([0.5, -0.1, 0.6], r"got -0.1 for client 1, expected values >= 0"),
             ([0.2, 0.2, 0.2], r"they sum to 0.6, expected 1"),
             ([0.5, 0.5], r"got 2 values, expected one per client \(3\)"),
             ([0.5, np.nan, 0.5], r"got a value that is not a finite number")]
    for values, message in cases:
      with self.assertRaisesRegex(ConfigError, r"^selection probabilities: " + message):
        check_probabilities(values, 3)
    with self.assertRaisesRegex(ConfigError, r"^selection alpha: got -1"):
      selection_probabilities("dirichlet", [1, 2], alpha=-1)
    with self.assertRaisesRegex(ConfigError, r"^selection source: got 'random'"):
      selection_probabilities("random", [1, 2])


class UnbiasedWeightsTest(tf.test.TestCase):

  def test_weighted_draws_estimate_the_sum_of_every_update_without_bias(self):
    probabilities = np.array([0.05, 0.15, 0.3, 0.5])
    updates = np.array([4.0, -1.0, 2.0, 0.5])
    estimates = []
    for seed in range(20000):
      drawn = draw_with_replacement(probabilities, 3, seed)
      estimates.append(np.sum(unbiased_weights(probabilities, drawn) * updates[drawn]))
    standard_error = np.std(estimates) / np.sqrt(len(estimates))
    self.assertLess(abs(np.mean(estimates) - updates.sum()), 4 * standard_error)
    plain = [np.mean(updates[draw_with_replacement(probabilities, 3, s)]) * 4
             for s in range(2000)]
    self.assertAllClose(np.mean(plain), 4 * np.dot(probabilities, updates), atol=0.2)

  def test_weights_are_one_over_k_p(self):
    self.assertAllClose(unbiased_weights(np.array([0.25, 0.75]), np.array([0, 1, 1])),
                        [4 / 3, 4 / 9, 4 / 9])


class PowerOfChoiceTest(tf.test.TestCase):

  def test_keeps_the_highest_losses_of_the_candidates(self):
    self.assertAllEqual(power_of_choice([0.2, 1.5, 0.9, 1.5], 3), [1, 3, 2])
    candidates = power_of_choice_candidates(np.full(10, 0.1), 6, 3, seed=2)
    self.assertLen(set(candidates.tolist()), 6)

  def test_d_below_m_is_one_line(self):
    with self.assertRaisesRegex(ConfigError, r"^power-of-choice: got d = 2 candidates for "
                                             r"m = 3 clients a round, expected d >= m$"):
      power_of_choice_candidates(np.full(10, 0.1), 2, 3, seed=0)
    with self.assertRaisesRegex(ConfigError, r"expected 1 <= m <= d"):
      power_of_choice([0.1, 0.2], 3)


if __name__ == "__main__":
  tf.test.main()
