"""`tff-course diffusion`: bad input is one line naming it, before any model is loaded;
a model directory that is not one says what writes it."""

import os

import tensorflow as tf

from tests.cli_runner import run_main
from tff_course.cli.main import main


def run(*argv):
  return run_main(main, "diffusion", *argv)


class DiffusionCommandErrorsTest(tf.test.TestCase):

  def assert_one_line(self, argv, pattern):
    status, _, err = run(*argv)
    self.assertEqual(status, 2, err)
    lines = err.strip().splitlines()
    self.assertLen(lines, 1, err)
    self.assertRegex(lines[0], pattern)

  def test_instance_prompt_without_the_identifier(self):
    out = self.create_tempdir().full_path
    self.assert_one_line(
        ["dreambooth", "--model", out, "--instance-dir", out, "--instance-prompt",
         "a photo of dog", "--class-prompt", "a photo of dog", "--out",
         os.path.join(out, "run")], "instance prompt: .* lacks the identifier 'sks'")

  def test_class_prompt_with_the_identifier(self):
    out = self.create_tempdir().full_path
    self.assert_one_line(
        ["dreambooth", "--model", out, "--instance-dir", out, "--instance-prompt",
         "a photo of sks dog", "--class-prompt", "a photo of sks dog", "--out",
         os.path.join(out, "run")], "class prompt: .* contains the identifier")

  def test_steps_and_guidance_out_of_range(self):
    out = self.create_tempdir().full_path
    common = ["--model", out, "--prompt", "a photo of a bag", "--out",
              os.path.join(out, "x.png")]
    self.assert_one_line(["generate", *common, "--steps", "0"], "steps: got 0, expected 1")
    self.assert_one_line(["generate", *common, "--guidance", "-1"], "guidance: got -1")

  def test_a_folder_that_holds_no_model(self):
    out = self.create_tempdir().full_path
    self.assert_one_line(["generate", "--model", out, "--prompt", "a photo of a bag",
                          "--out", os.path.join(out, "x.png")],
                         "no model.json; expected a model directory written by")
