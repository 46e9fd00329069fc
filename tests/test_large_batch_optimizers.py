"""LARS and LAMB step by step against NumPy transcriptions of their papers' algorithms,
their warm-up and decay schedule, the batch-size scaling rules, save and reload."""

import math
import os

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from tff_course.algorithms.warmup_decay import WarmupDecay
from tff_course.distributed.lamb import LAMB
from tff_course.distributed.lars import LARS
from tff_course.distributed.lr_scaling import scaled_learning_rate
from tff_course.errors import ConfigError

STEPS = 7


def numpy_warmup_decay(step, peak, total, warmup, decay, power, end):
  if step < warmup:
    return peak * (step + 1) / warmup
  progress = min((step - warmup) / max(total - warmup, 1), 1.0)
  shape = (0.5 * (1 + math.cos(math.pi * progress)) if decay == "cosine"
           else (1 - progress) ** power)
  return end + (peak - end) * shape


def _ratio(numerator, denominator):
  return numerator / denominator if numerator > 0 and denominator > 0 else 1.0


def numpy_lars(weights, grads, lrs, momentum, beta, eta, adapted):
  """You et al. 2017, Algorithm 1, per layer; `adapted[l]` False: lambda 1, no decay."""
  w = [x.astype(np.float64) for x in weights]
  v = [np.zeros_like(x) for x in w]
  for step_grads, gamma in zip(grads, lrs):
    for l, g in enumerate(step_grads):
      g = g.astype(np.float64)
      decay = beta if adapted[l] else 0.0
      local = (_ratio(eta * np.linalg.norm(w[l]),
                      np.linalg.norm(g) + decay * np.linalg.norm(w[l]))
               if adapted[l] else 1.0)
      v[l] = momentum * v[l] + gamma * local * (g + decay * w[l])
      w[l] = w[l] - v[l]
  return w


def numpy_lamb(weights, grads, lrs, beta_1, beta_2, epsilon, decay, adapted):
  """You et al. 2020, Algorithm 2 (phi the identity), per layer."""
  x = [w.astype(np.float64) for w in weights]
  m = [np.zeros_like(w) for w in x]
  v = [np.zeros_like(w) for w in x]
  for t, (step_grads, eta) in enumerate(zip(grads, lrs), start=1):
    for l, g in enumerate(step_grads):
      g = g.astype(np.float64)
      m[l] = beta_1 * m[l] + (1 - beta_1) * g
      v[l] = beta_2 * v[l] + (1 - beta_2) * g * g
      r = (m[l] / (1 - beta_1 ** t)) / (np.sqrt(v[l] / (1 - beta_2 ** t)) + epsilon)
      if adapted[l]:
        r = r + decay * x[l]
      ratio = _ratio(np.linalg.norm(x[l]), np.linalg.norm(r)) if adapted[l] else 1.0
      x[l] = x[l] - eta * ratio * r
  return x


def _problem(seed=0):
  rng = np.random.default_rng(seed)
  shapes = [(5, 4), (4,), (3, 3, 2, 3)]
  weights = [rng.normal(size=s).astype(np.float32) for s in shapes]
  grads = [[rng.normal(scale=0.5, size=s).astype(np.float32) for s in shapes]
           for _ in range(STEPS)]
  return weights, grads


def _run(optimizer, weights, grads, names=("kernel", "bias", "conv")):
  variables = [tf.Variable(w, name=n) for w, n in zip(weights, names)]
  for step_grads in grads:
    optimizer.apply_gradients(zip([tf.constant(g) for g in step_grads], variables))
  return [v.numpy() for v in variables]


SCHEDULE = dict(peak=0.5, total_steps=STEPS, warmup_steps=2, decay="polynomial", power=2.0,
                end=0.01)


def _lrs(schedule):
  return [numpy_warmup_decay(t, *(schedule[k] for k in
                                  ("peak", "total_steps", "warmup_steps", "decay", "power",
                                   "end"))) for t in range(STEPS)]


class LargeBatchOptimizerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(("vectors_out", "vectors", [True, False, True]),
                                  ("all_adapted", [], [True, True, True]),
                                  ("named_out", ["conv"], [True, True, False]))
  def test_lars_matches_algorithm_1(self, exclude, adapted):
    weights, grads = _problem()
    optimizer = LARS(learning_rate=WarmupDecay(**SCHEDULE), momentum=0.9, weight_decay=5e-3,
                     eta=0.02, exclude_from_adaptation=exclude)
    expected = numpy_lars(weights, grads, _lrs(SCHEDULE), 0.9, 5e-3, 0.02, adapted)
    for got, want in zip(_run(optimizer, weights, grads), expected):
      self.assertAllClose(got, want, rtol=1e-6, atol=1e-6)

  @parameterized.named_parameters(("vectors_out", "vectors", [True, False, True]),
                                  ("all_adapted", [], [True, True, True]))
  def test_lamb_matches_algorithm_2(self, exclude, adapted):
    weights, grads = _problem(1)
    schedule = dict(SCHEDULE, peak=0.05, decay="cosine")
    optimizer = LAMB(learning_rate=WarmupDecay(**schedule), beta_1=0.9, beta_2=0.99,
                     epsilon=1e-6, weight_decay=0.01, exclude_from_adaptation=exclude)
    expected = numpy_lamb(weights, grads, _lrs(schedule), 0.9, 0.99, 1e-6, 0.01, adapted)
    for got, want in zip(_run(optimizer, weights, grads), expected):
      self.assertAllClose(got, want, rtol=1e-6, atol=1e-6)

  def test_trust_ratio_is_what_scales_each_layer(self):
    """One LARS step on a layer with ||w|| = 10 and ||g|| = 2: lambda = eta * 10 / 2."""
    weight = np.zeros((2, 2), np.float32)
    weight[0, 0] = 10.0
    grad = np.zeros((2, 2), np.float32)
    grad[1, 1] = 2.0
    (got,) = _run(LARS(learning_rate=1.0, momentum=0.0, weight_decay=0.0, eta=0.1),
                  [weight], [[grad]], names=("kernel",))
    self.assertAllClose(got[1, 1], -0.1 * 10 / 2 * 2.0)

  def test_zero_weights_take_the_plain_step(self):
    (got,) = _run(LAMB(learning_rate=0.1, weight_decay=0.0), [np.zeros((3, 2), np.float32)],
                  [[np.ones((3, 2), np.float32)]], names=("kernel",))
    self.assertAllClose(got, np.full((3, 2), -0.1), atol=1e-5)

  @parameterized.named_parameters(("lars", LARS, dict(eta=0.01)),
                                  ("lamb", LAMB, dict(beta_2=0.98)))
  def test_saved_and_reloaded_with_the_model_continues_identically(self, cls, options):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((6,)),
                                 tf.keras.layers.Dense(5, activation="relu"),
                                 tf.keras.layers.BatchNormalization(),
                                 tf.keras.layers.Dense(3)])
    model.compile(optimizer=cls(learning_rate=WarmupDecay(peak=0.05, total_steps=20,
                                                          warmup_steps=3), **options),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 6)).astype(np.float32), rng.integers(0, 3, 32)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    path = os.path.join(self.get_temp_dir(), "model.keras")
    model.save(path)
    reloaded = tf.keras.models.load_model(path)
    self.assertIsInstance(reloaded.optimizer, cls)
    self.assertEqual(reloaded.optimizer.get_config(), model.optimizer.get_config())
    for fitted in (model, reloaded):
      fitted.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), reloaded.get_weights()):
      self.assertAllClose(a, b, rtol=1e-6, atol=1e-6)

  def test_schedule_matches_numpy_at_every_step(self):
    for decay in ("polynomial", "cosine"):
      schedule = WarmupDecay(peak=0.8, total_steps=30, warmup_steps=5, decay=decay,
                             power=1.5, end=0.001)
      got = [float(schedule(step)) for step in range(35)]
      want = [numpy_warmup_decay(step, 0.8, 30, 5, decay, 1.5, 0.001) for step in range(35)]
      self.assertAllClose(got, want, rtol=1e-6)
    self.assertEqual(WarmupDecay.from_config(schedule.get_config()).get_config(),
                     schedule.get_config())

  def test_scaling_rules(self):
    self.assertAlmostEqual(scaled_learning_rate(0.1, 1024, 128, "linear"), 0.8)
    self.assertAlmostEqual(scaled_learning_rate(0.1, 512, 128, "sqrt"), 0.2)
    self.assertAlmostEqual(scaled_learning_rate(0.1, 512, 128, "none"), 0.1)

  def test_bad_arguments_are_one_line_each(self):
    cases = [
        (lambda: LARS(momentum=1.0), r"^momentum: got 1.0, expected a number in \[0, 1\)$"),
        (lambda: LARS(eta=0.0), r"^eta: got 0.0, expected a number in \(0, inf\)$"),
        (lambda: LAMB(beta_2=-0.1), r"^beta_2: got -0.1, expected a number in \[0, 1\)$"),
        (lambda: LAMB(exclude_from_adaptation="bias"),
         r"^exclude_from_adaptation: got 'bias', expected 'vectors' or a list"),
        (lambda: LARS(exclude_from_weight_decay=["("]),
         r"^exclude_from_weight_decay: '\(' is not a regular expression"),
        (lambda: WarmupDecay(peak=0.1, total_steps=10, warmup_steps=11),
         r"^warmup_steps: got 11, expected at most total_steps \(10\)$"),
        (lambda: WarmupDecay(peak=0.1, total_steps=10, decay="linear"),
         r"^decay: got 'linear', expected one of polynomial, cosine$"),
        (lambda: WarmupDecay(peak=0.1, total_steps=0), r"^total_steps: got 0, expected an "
                                                       r"integer >= 1$"),
        (lambda: scaled_learning_rate(0.1, 0, 128, "linear"),
         r"^batch_size: got 0, expected an integer >= 1$"),
        (lambda: scaled_learning_rate(0.1, 256, 128, "cubic"),
         r"^scaling rule: got 'cubic', expected one of linear, sqrt, none$"),
    ]
    for make, message in cases:
      with self.assertRaisesRegex(ConfigError, message):
        make()


if __name__ == "__main__":
  tf.test.main()
