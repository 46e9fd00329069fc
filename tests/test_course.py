"""The course experiments: their arms, report pieces, and runs end to end."""

import json
import os
import re

import numpy as np
import tensorflow as tf

from tests.counted_gradients import counted_gradients
from tests.fake_cifar import write_fake_cifar10
from tests.metrics_files import write_metrics
from tests.report_checks import assert_every_question_answered
from tests.test_cli import run_cli
from tff_course.course import EXPERIMENTS, course_experiment, plan_arms, run_course_experiment
from tff_course.course import fedsgd_fedavg, group_fairness, markdown, numpy_fedavg
from tff_course.course.questions import questions_section
from tff_course.course.results import Results, summarize_metrics
from tff_course.course.settings import SETTINGS
from tff_course.errors import ConfigError
from tff_course.experiment.metrics_file import read_metrics
from tff_course.scratch import batches


class ArmsTest(tf.test.TestCase):

  def test_every_experiment_plans_unique_arms_in_every_setting(self):
    for name, experiment in EXPERIMENTS.items():
      for setting in SETTINGS:
        arms = plan_arms(experiment, setting=setting)
        self.assertNotEmpty(arms, name)
        self.assertLen({arm.key for arm in arms}, len(arms))

  def test_overrides_and_rounds_reach_every_config(self):
    arms = plan_arms(course_experiment("quantized"), overrides=["data.limit=7"], rounds=3)
    self.assertEqual({(a.config.data.limit, a.config.train.rounds) for a in arms}, {(7, 3)})
    self.assertEqual([a.config.train.quant_bits for a in arms], [32, 16, 4])

  def test_rounds_give_the_single_device_e_epochs_per_fedavg_round(self):
    for setting, epochs in (("default", 1), ("full", 5)):
      arms = {a.key: a for a in plan_arms(course_experiment("fedavg-cifar"), setting=setting,
                                          rounds=3)}
      self.assertEqual(arms["fedavg"].config.train.rounds, 3)
      self.assertEqual(arms["single-device"].config.train.rounds, 3 * epochs)
    single = plan_arms(course_experiment("single-device"), rounds=1)
    self.assertEqual({(a.config.train.rounds, a.config.train.warmup_rounds) for a in single},
                     {(1, 0)})

  def test_arms_run_outside_take_rounds_and_a_limit_but_refuse_config_overrides(self):
    experiment = course_experiment("numpy-fedavg")
    self.assertEqual({a.settings["rounds"] for a in plan_arms(experiment, rounds=4)}, {4})
    with self.assertRaisesRegex(ConfigError, "runs outside the federated runner, without a "
                                             "TFF config; of --set only data.dataset and "
                                             "data.limit apply"):
      plan_arms(experiment, overrides=["train.rounds=2"])
    limited = plan_arms(course_experiment("async-sgd"),
                        overrides=["data.limit=2000", "data.dataset=cifar100"])
    self.assertEqual({(a.settings["limit"], a.settings["dataset"]) for a in limited},
                     {(2000, "cifar100")})
    with self.assertRaisesRegex(ConfigError, r"^dataset: got 'imagenet', expected one of "):
      plan_arms(course_experiment("local-sgd"), overrides=["data.dataset=imagenet"])
    with self.assertRaisesRegex(ConfigError, r"^--set data.limit: got 0, expected a whole "
                                             r"number >= 1 or null$"):
      plan_arms(course_experiment("async-sgd"), overrides=["data.limit=0"])

  def test_overrides_of_what_the_arms_compare_are_refused(self):
    with self.assertRaisesRegex(ConfigError, "--set train.quant_bits: the quantized "
                                             "experiment compares runs that differ in it"):
      plan_arms(course_experiment("quantized"), overrides=["train.quant_bits=8"])
    with self.assertRaisesRegex(ConfigError, "--set train.epochs"):
      plan_arms(course_experiment("fedsgd-fedavg"), overrides=["train.epochs=4"])

  def test_bad_names_and_round_counts(self):
    with self.assertRaisesRegex(ConfigError, "expected one of .*quantized"):
      course_experiment("quantised")
    with self.assertRaisesRegex(ConfigError, "--rounds: got 0"):
      plan_arms(course_experiment("quantized"), rounds=0)

  def test_fedsgd_fedavg_covers_the_course_grid(self):
    arms = {a.key: a.config for a in plan_arms(course_experiment("fedsgd-fedavg"))}
    cells = {(c.train.algorithm, c.data.num_clients, c.train.client_fraction, c.train.epochs,
              c.data.partition, c.train.client_lr) for c in arms.values()}
    for algorithm in ("fedsgd", "fedavg"):
      for clients in (10, 50, 100):
        self.assertIn((algorithm, clients, 0.1, 1, "iid"), {c[:5] for c in cells})
      for fraction in (0.01, 0.1, 0.2):
        self.assertIn((algorithm, 100, fraction, 1, "iid"), {c[:5] for c in cells})
      self.assertIn((algorithm, 100, 0.5, 1, "shards", 0.001), cells)
    self.assertTrue({("fedavg", 100, 0.1, e, "iid") for e in (1, 2, 4)} <=
                    {c[:5] for c in cells})
    ten = arms["fedavg-n10-c0.1-e1-iid-lr0.05"]
    self.assertEqual(ten.data.samples_per_client, 6000)
    self.assertEqual({c.train.rounds for c in arms.values()}, {15})
    self.assertLen(arms, 16)

  def test_group_scenarios(self):
    arms = {a.key: a.config for a in plan_arms(course_experiment("group-fairness"))}
    self.assertEqual(arms["fair"].train.devices_per_group, {0: 4, 1: 4, 2: 4})
    self.assertEqual(arms["unfair"].train.devices_per_group, {0: 10, 1: 2, 2: 1})
    self.assertEqual(arms["unfair-group-mean"].train.aggregator, "group_mean")

  def test_fedsgd_fedavg_cut_to_some_comparisons(self):
    iid = plan_arms(fedsgd_fedavg.experiment(["iid"]), rounds=1)
    self.assertEqual({(a.config.train.algorithm, a.config.data.partition) for a in iid},
                     {(alg, part) for alg in ("fedsgd", "fedavg") for part in ("iid", "shards")})
    every = {a.key for a in plan_arms(course_experiment("fedsgd-fedavg"))}
    self.assertTrue({a.key for a in iid} < every)
    self.assertEqual(len(plan_arms(fedsgd_fedavg.experiment(["epochs", "smoothness"]))), 5)
    self.assertEqual({a.key for a in plan_arms(fedsgd_fedavg.experiment())}, every)
    with self.assertRaisesRegex(ConfigError, "comparisons: got 'iid ', expected some of "
                                             "clients, fraction"):
      fedsgd_fedavg.experiment(["iid "])
    with self.assertRaisesRegex(ConfigError, "comparisons: got none"):
      fedsgd_fedavg.experiment([])
    with self.assertRaisesRegex(ConfigError, "expected each name once"):
      fedsgd_fedavg.experiment(["iid", "iid"])


class ExperimentCliTest(tf.test.TestCase):

  def test_cli_lists_and_rejects(self):
    status, out, _ = run_cli("experiment", "list")
    self.assertEqual(status, 0)
    for name in EXPERIMENTS:
      self.assertIn(name, out)
    status, _, err = run_cli("experiment", "quantised")
    self.assertEqual(status, 2)
    self.assertIn("invalid choice", err)

  def test_bad_arguments_leave_no_run_directory(self):
    run_dir = os.path.join(self.create_tempdir().full_path, "never")
    status, _, err = run_cli("experiment", "quantized", "--out", run_dir, "--rounds", "0")
    self.assertEqual(status, 2)
    self.assertIn("--rounds: got 0", err)
    self.assertFalse(os.path.exists(run_dir))


class ReportPiecesTest(tf.test.TestCase):

  def test_results_leave_out_rounds_beyond_the_arms_count(self):
    run_dir = self.create_tempdir().full_path
    arms = plan_arms(course_experiment("quantized"), rounds=2)
    write_metrics(os.path.join(run_dir, arms[0].key), [
        {"round": r, "test_accuracy": r / 10, "train_loss": 1.0, "messages_up": 1,
         "messages_down": 1, "bytes_up": 100, "seconds": 1.0} for r in (1, 2, 3, 4)])
    summary = Results(run_dir, tuple(arms)).summary(arms[0].key)
    self.assertEqual((summary.rounds, summary.messages, summary.bytes_up), (2, 4, 200))
    self.assertEqual(summary.test_accuracy, 0.2)

  def test_settings_table_shows_what_applies_to_each_run(self):
    arms = plan_arms(course_experiment("fedsgd-fedavg"))
    table = markdown.settings_table(Results("unused", tuple(arms[:2])))
    fedsgd_row = next(line for line in table.splitlines() if line.startswith("| FedSGD"))
    self.assertIn("| all |", fedsgd_row)
    central = markdown.settings_table(Results("unused", tuple(
        plan_arms(course_experiment("single-device")))))
    self.assertNotIn("aggregator", central)
    self.assertNotIn("bits", central)
    self.assertIn("momentum", central)

  def test_test_noise_names_size_notes_and_standard_error(self):
    text = markdown.test_noise({"cifar10": (1000, ("partial test split",))})
    self.assertIn("cifar10: 1,000 test examples (partial test split), standard error of an "
                  "accuracy near 50 % 1.6 pt", text)

  def test_summary_of_metrics_columns(self):
    columns = {"round": np.array([1., 2., 3.]), "test_accuracy": np.array([.5, np.nan, .4]),
               "train_loss": np.array([2., 1., .5]), "messages_up": np.array([3., 3., 3.]),
               "messages_down": np.array([3., 3., 3.]), "bytes_up": np.array([10., 10., 12.]),
               "seconds": np.array([1., 2., 3.])}
    summary = summarize_metrics(columns)
    self.assertEqual((summary.rounds, summary.messages, summary.bytes_up), (3, 18, 32))
    self.assertEqual((summary.test_accuracy, summary.best_test_accuracy), (.4, .5))
    self.assertEqual((summary.train_loss, summary.seconds), (.5, 6.))
    no_messages = summarize_metrics({"round": np.array([1.]), "train_loss": np.array([1.])})
    self.assertIsNone(no_messages.messages)
    self.assertTrue(np.isnan(no_messages.test_accuracy))

  def test_messages_to_reach_counts_up_to_the_first_round_at_target(self):
    columns = {"test_accuracy": np.array([.2, np.nan, .6, .5, .9]),
               "messages_up": np.array([2., 2., 4., 4., 4.]),
               "messages_down": np.array([2., 2., 4., 4., 4.])}
    self.assertEqual(fedsgd_fedavg.messages_to_reach(columns, .55), 16)
    self.assertEqual(fedsgd_fedavg.messages_to_reach(columns, .2), 4)
    self.assertIsNone(fedsgd_fedavg.messages_to_reach(columns, .95))

  def test_markdown_table(self):
    self.assertEqual(markdown.table(("a", "b"), [(1, "x")]), "| a | b |\n|---|---|\n| 1 | x |")
    self.assertEqual(markdown.percent(0.12345), "12.35 %")
    self.assertEqual(markdown.points(-0.005), "-0.50 pt")

  def test_group_table_from_metrics_files(self):
    run_dir = self.create_tempdir().full_path
    arms = plan_arms(course_experiment("group-fairness"), rounds=2)
    for arm, finals in zip(arms, ((.5, .6, .7), (.9, .2, .1), (.6, .5, .4))):
      write_metrics(os.path.join(run_dir, arm.key), [
          {"round": 1, "test_accuracy": .1, **{f"test_group_{g}_accuracy": .1
                                               for g in range(3)}},
          {"round": 2, "test_accuracy": np.mean(finals),
           **{f"test_group_{g}_accuracy": v for g, v in enumerate(finals)}}])
    table = group_fairness.group_table(Results(run_dir, tuple(arms)))
    self.assertIn("| fair (4/4/4) | 50.00 % | 60.00 % | 70.00 % | +20.00 pt | 60.00 % |",
                  table)
    self.assertIn("| unfair (10/2/1) | 90.00 % | 20.00 % | 10.00 % | +80.00 pt |", table)


class ScratchStepsTest(tf.test.TestCase):

  def test_steps_run_exactly_that_many_batches_across_passes(self):
    sizes = [len(b) for b in batches(10, 4, 1, np.random.default_rng(0), steps=5)]
    self.assertEqual(sizes, [4, 4, 2, 4, 4])
    first_pass = np.concatenate(list(batches(10, 4, 1, np.random.default_rng(0), steps=3)))
    self.assertCountEqual(first_pass, range(10))
    self.assertEmpty(list(batches(10, 4, 1, None, steps=0)))
    self.assertEmpty(list(batches(0, 4, 1, None, steps=3)))
    with self.assertRaisesRegex(ConfigError, "steps: got -1"):
      list(batches(10, 4, 1, None, steps=-1))


class NumpyExperimentTest(tf.test.TestCase):

  def test_runs_counts_steps_answers_and_repeats_exactly(self):
    run_dir = self.create_tempdir().full_path
    experiment = course_experiment("numpy-fedavg")
    with counted_gradients() as evaluations:
      report = run_course_experiment(experiment, run_dir, rounds=3, progress=False)
    with open(report) as stream:
      text = stream.read()
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    for image in images:
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)), image)
    for data in ("synthetic_iid", "synthetic_1_1"):
      self.assertIn(f"{data}-iterations.png", images)
      self.assertIn(f"{data}-gradient-steps.png", images)
    self.assertIn("Synthetic(1, 1): FedAvg J=20", text)
    self.assertIn("synthetic_iid: 552 test examples", text)
    total = 0
    for arm in plan_arms(experiment, rounds=3):
      columns = read_metrics(os.path.join(run_dir, arm.key))
      per_iteration = (1 if arm.settings["algorithm"] == "sgd"
                       else 30 * arm.settings["local_steps"])
      self.assertEqual(columns["round"].tolist(), [1, 2, 3])
      self.assertEqual(np.diff(columns["gradient_steps"], prepend=0).tolist(),
                       [per_iteration] * 3, arm.key)
      total += int(columns["gradient_steps"][-1])
    self.assertLen(evaluations, total)
    self.assertAnswered(text, 4)
    with open(os.path.join(run_dir, "experiment.json")) as stream:
      record = json.load(stream)
    self.assertEqual(record["arms"]["synthetic_1_1-fedavg-j20"]["numpy"]["dataset_options"],
                     {"alpha": 1.0, "beta": 1.0})
    self.assertIn("numpy", record["versions"])
    arm = {a.key: a for a in plan_arms(experiment, rounds=3)}["synthetic_1_1-fedavg-j5"]
    again = self.create_tempdir().full_path
    arm.run_outside(arm.settings, again)
    without_seconds = lambda path: [line.rsplit(",", 1)[0] for line in
                                    open(os.path.join(path, "metrics.csv")).readlines()]
    self.assertEqual(without_seconds(again), without_seconds(os.path.join(run_dir, arm.key)))

  def assertAnswered(self, report_text, count):
    self.assertLen(assert_every_question_answered(self, report_text), count)

  def test_verdicts_follow_the_numbers(self):
    shown = self.verdicts(sgd_accuracy=.5, hetero_plateaus={1: .4, 5: .9, 20: 1.0})
    self.assertEqual(shown, ["reproduced", "measured", "reproduced", "reproduced"])
    flipped = self.verdicts(sgd_accuracy=.95, hetero_plateaus={1: .4, 5: .4, 20: .4})
    self.assertEqual(flipped, ["not reproduced", "measured", "within noise", "reproduced"])

  def verdicts(self, *, sgd_accuracy, hetero_plateaus):
    run_dir = self.create_tempdir().full_path
    arms = plan_arms(course_experiment("numpy-fedavg"), rounds=4)
    iid_finals = {"sgd": (sgd_accuracy, 1.6), 1: (.52, 1.5), 5: (.7, 1.0), 20: (.8, .6)}
    for arm in arms:
      steps = arm.settings.get("local_steps", "sgd")
      if arm.settings["dataset"] == "synthetic_iid":
        accuracy, loss = iid_finals[steps]
        losses = [2.0, 1.9, (2.0 + loss) / 2, loss]
      else:
        accuracy, loss = .8, hetero_plateaus.get(steps, .7)
        losses = [2.0, 1.0, loss, loss]
      write_metrics(os.path.join(run_dir, arm.key), [
          {"round": r, "train_loss": value, "test_accuracy": accuracy,
           "gradient_steps": r * (1 if steps == "sgd" else 30 * steps)}
          for r, value in enumerate(losses, 1)])
    results = Results(run_dir, tuple(arms), {arm.key: 552 for arm in arms})
    answers = course_experiment("numpy-fedavg").questions(results)
    self.assertTrue(all(answer.answer.strip() for answer in answers))
    return [answer.verdict for answer in answers]

  def test_toy_datasets_remain_an_option(self):
    toy = numpy_fedavg.experiment(("toy_iid", "toy_hetero"))
    self.assertEqual([a.key for a in plan_arms(toy)][:2], ["toy_iid-sgd", "toy_iid-fedavg-j1"])
    with self.assertRaisesRegex(ConfigError, "expected an IID and a heterogeneous one"):
      numpy_fedavg.experiment(("toy_hetero", "toy_iid"))


class QuantizedExperimentCliTest(tf.test.TestCase):
  """On a fake CIFAR-10 in the official format: a smoke run's outputs do not depend on
  the images."""

  def test_smoke_run_writes_report_and_resumes_without_retraining(self):
    run_dir = self.create_tempdir().full_path
    data_dir = write_fake_cifar10(self.create_tempdir().full_path)
    argv = ("experiment", "quantized", "--out", run_dir, "--data-dir", data_dir,
            "--rounds", "1", "--set", "data.samples_per_client=20", "--no-progress")
    status, out, err = run_cli(*argv)
    self.assertEqual(status, 0, err)
    self.assertIn("report:", out)
    with open(os.path.join(run_dir, "report.md")) as stream:
      text = stream.read()
    self.assertIn("| 4 bits |", text)
    self.assertIn("0.125", text)
    answers = assert_every_question_answered(self, text)
    self.assertIn("4-bit within 1 point of 32-bit.",
                  answers["How much accuracy do 4-bit updates cost?"]["Reference solution"])
    self.assertIn("## The assignment's settings", text)
    with open(os.path.join(run_dir, "answers.json")) as stream:
      self.assertLen(json.load(stream), len(answers))
    for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)), image)
    metrics = os.path.join(run_dir, "bits-16", "metrics.csv")
    before = open(metrics).read()
    status, _, err = run_cli(*argv)
    self.assertEqual(status, 0, err)
    self.assertEqual(open(metrics).read(), before)


# algorithm, FedSGD form, N, partition, examples/client, lr, C, E, B, rounds, seed
HOMEWORK_ARMS = (
    ("fedsgd", "gradient", 100, "iid", 600, 0.01, 0.1, 1, None, 10, 10),
    ("fedavg", None, 100, "iid", 600, 0.01, 0.1, 1, 100, 10, 10),
    ("fedsgd", "gradient", 100, "iid", 600, 0.01, 0.5, 1, None, 5, 10),
    ("fedsgd", "weights", 100, "iid", 600, 0.01, 0.5, 1, None, 5, 10),
    ("fedsgd", "gradient", 50, "shards", None, 0.1, 0.2, 1, None, 5, 10),
    ("fedsgd", "weights", 50, "shards", None, 0.1, 0.2, 1, None, 5, 10),
)


def _fake_runs(run_dir, arms, accuracy):
  """metrics.csv for every arm: 10 clients a round, test accuracy `accuracy(key, round)`."""
  for arm in arms:
    write_metrics(os.path.join(run_dir, arm.key), [
        {"round": r, "clients": 10, "messages_up": 10, "messages_down": 10,
         "test_accuracy": accuracy(arm.key, r), "test_loss": 2 - accuracy(arm.key, r),
         "train_accuracy": .5, "train_loss": 1.0, "bytes_up": 100, "seconds": 1.0}
        for r in range(1, arm.rounds + 1)])
  return Results(run_dir, tuple(arms), test_sizes={arm.key: 10000 for arm in arms})


def _rising(key, round_num):
  """FedAvg above FedSGD, the two forms of FedSGD alike."""
  return .1 + .04 * round_num + (.2 if key.startswith("fedavg") else 0)


class FedSgdFedAvgAssignmentTest(tf.test.TestCase):

  def test_assignment_arms_are_the_homeworks(self):
    arms = plan_arms(course_experiment("fedsgd-fedavg"), setting="assignment")
    cells = [(c.train.algorithm, c.train.fedsgd_form if c.train.algorithm == "fedsgd" else None,
              c.data.num_clients, c.data.partition, c.data.samples_per_client,
              c.train.client_lr, c.train.client_fraction, c.train.epochs, c.train.batch_size,
              c.train.rounds, c.train.seed) for c in (arm.config for arm in arms)]
    self.assertCountEqual(cells, HOMEWORK_ARMS)
    self.assertEqual({(a.config.data.dataset, a.config.train.model,
                       a.config.data.shards_per_client) for a in arms},
                     {("mnist", "mnist_2nn", 2)})
    cut = plan_arms(fedsgd_fedavg.experiment(["iid"]), setting="assignment")
    self.assertEqual([a.key for a in cut], [a.key for a in arms])

  def test_questions_answered_from_metrics_files(self):
    experiment = course_experiment("fedsgd-fedavg")
    for setting, count in (("assignment", 4), ("default", 5)):
      run_dir = self.create_tempdir().full_path
      results = _fake_runs(run_dir, plan_arms(experiment, setting=setting), _rising)
      answers = experiment.questions(results)
      self.assertLen(answers, count, setting)
      for answer in answers:
        self.assertNotIn("nan", answer.answer.lower(), answer.question)
      self.assertLen(assert_every_question_answered(self, questions_section(answers)),
                     count)

  def test_assignment_verdicts_follow_the_numbers(self):
    experiment = course_experiment("fedsgd-fedavg")
    arms = plan_arms(experiment, setting="assignment")
    results = _fake_runs(self.create_tempdir().full_path, arms, _rising)
    homework, reached, first, second = experiment.questions(results)
    self.assertEqual(homework.verdict, "reproduced")
    self.assertIn("FedAvg minus FedSGD +20.00 pt", homework.answer)
    self.assertIn("FedAvg reached it in round 5 after 100 messages", reached.answer)
    self.assertIn("FedSGD reached it in round 10 after 200 messages", reached.answer)
    self.assertEqual((first.verdict, second.verdict), ("reproduced", "reproduced"))
    self.assertIn("the same test accuracy in all 5 rounds", first.answer)
    run_dir = self.create_tempdir().full_path
    apart = _fake_runs(run_dir, arms, lambda key, r: _rising(key, r) + (
        .05 if key.endswith("noniid-lr0.1-seed10-weights") and r == 2 else 0))
    _, _, first, second = experiment.questions(apart)
    self.assertEqual((first.verdict, second.verdict), ("reproduced", "not reproduced"))
    self.assertIn("largest |difference| over the 5 rounds 5.00 pt (round 2, 500 of 10,000 "
                  "test examples)", second.answer)
    report = "\n\n".join(experiment.report(apart))
    self.assertIn("| 2 | 18.00 % | 23.00 % | +5.00 pt |", report)
    self.assertIn("| homework | FedAvg N=100 C=0.1, E=1, B=100, IID, lr 0.01 | 10 | 200 | 100 |",
                  report)
    images = re.findall(r"!\[[^]]*\]\(([^)]+)\)", report)
    self.assertEqual(images, ["homework.png", "forms-i.png", "forms-ii.png"])
    for image in images:
      self.assertTrue(os.path.isfile(os.path.join(run_dir, image)), image)


class DivergedArmTest(tf.test.TestCase):

  def test_a_diverged_arm_is_recorded_reported_and_not_trained_again(self):
    from tff_course.course.arms import Arm
    from tff_course.course.run import run_arm
    from tff_course.experiment.config import DataConfig, ExperimentConfig, TrainConfig

    run_dir = self.create_tempdir().full_path
    config = ExperimentConfig(
        name="blows-up", data=DataConfig(dataset="synthetic", partition="iid", num_clients=4),
        train=TrainConfig(model="mlp", client_lr=1e30, rounds=3, client_fraction=1.0,
                          client_slots=0))
    arm = Arm("blows-up", "lr 1e30", config)
    self.assertEqual(run_arm(arm, os.path.join(run_dir, arm.key), data_dir=None,
                             progress=False), {})
    record = os.path.join(run_dir, arm.key, "diverged.txt")
    with open(record) as stream:
      self.assertRegex(stream.read(), r"^round \d: .*NaN or infinite")
    stamp = os.path.getmtime(record)
    self.assertEqual(run_arm(arm, os.path.join(run_dir, arm.key), data_dir=None,
                             progress=False), {})
    self.assertEqual(os.path.getmtime(record), stamp)
    results = Results(run_dir, (arm,))
    self.assertTrue(np.isnan(results.summary(arm.key).test_accuracy))
    self.assertRegex(markdown.runs_table(results), r"\| lr 1e30 \| \d \| diverged \(round \d\) \|")
