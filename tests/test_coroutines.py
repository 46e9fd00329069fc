"""TFF's coroutines run on the toolkit's own loop: the same code in a script and in a
notebook cell, where an event loop is already running."""

import asyncio

import tensorflow as tf

from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig
from tff_course.experiment.runner import run_experiment
from tff_course.experiment.metrics_file import read_metrics
from tff_course.runtime.coroutines import run_coroutine


async def _double(value):
  await asyncio.sleep(0)
  return 2 * value


async def _fail():
  raise ValueError("from the coroutine")


def _tiny_config(rounds):
  return ExperimentConfig(
      name="loop", data=DataConfig(dataset="synthetic", options={"alpha": 1.0, "beta": 1.0}),
      train=TrainConfig(model="logistic", rounds=rounds, client_fraction=0.2,
                        checkpoint_every=2))


class RunCoroutineTest(tf.test.TestCase):

  def test_returns_the_result_without_a_running_loop(self):
    self.assertEqual(run_coroutine(_double(21)), 42)

  def test_returns_the_result_inside_a_running_loop(self):
    async def cell():
      return run_coroutine(_double(4))
    self.assertEqual(asyncio.run(cell()), 8)

  def test_raises_the_coroutines_exception(self):
    with self.assertRaisesRegex(ValueError, "from the coroutine"):
      run_coroutine(_fail())


class RunnerInsideALoopTest(tf.test.TestCase):

  def test_run_and_resume_inside_a_running_event_loop(self):
    run_dir = self.create_tempdir().full_path

    async def cell(rounds):
      return run_experiment(_tiny_config(rounds), run_dir, progress=False)

    asyncio.run(cell(2))
    metrics = asyncio.run(cell(4))
    self.assertIn("test_accuracy", metrics)
    self.assertEqual(list(read_metrics(run_dir)["round"]), [1, 2, 3, 4])
