"""Experiment configs: types, finite numbers, fields that must agree, files, overrides."""

import json
import os
import unittest

from tff_course.errors import ConfigError
from tff_course.experiment.config import dropped_options, from_dict, load_config
from tff_course.experiment.presets import demo_config
from tff_course.key_value import parse_key_value

GROUPS = {"0": [0, 1, 2, 3, 4], "1": [5, 6, 7, 8, 9]}


def config(data=None, train=None, **top):
  return from_dict({**top, "data": data or {}, "train": train or {}})


class TypesTest(unittest.TestCase):

  def test_wrong_types_name_the_field_the_value_and_the_type(self):
    cases = [
        ({"name": 42}, r"^name: got 42, expected a non-empty string$"),
        ({"name": ""}, r"^name: got '', expected a non-empty string$"),
        ({"train": {"devices_per_group": 3}},
         r"^train.devices_per_group: got 3, expected an object of group: whole number"),
        ({"train": {"devices_per_group": {"0": 2.5}}},
         r"^train.devices_per_group: got \{'0': 2.5\}, expected an object of group: whole"),
        ({"data": {"options": [1]}}, r"^data.options: got \[1\], expected an object of "
                                     r"option: value"),
        ({"data": {"groups": {"a": [1]}}},
         r"^data.groups: got \{'a': \[1\]\}, expected an object of group: list of classes"),
        ({"data": {"groups": {"0": [0, True]}}}, r"^data.groups: got \{'0': \[0, True\]\}"),
        ({"data": {"groups": [[0, 1]]}}, r"^data.groups: got \[\[0, 1\]\], expected an object"),
        ({"train": {"rounds": True}}, r"^train.rounds: got True, expected a whole number$"),
        ({"train": {"rounds": 2.5}}, r"^train.rounds: got 2.5, expected a whole number$"),
        ({"train": {"model": 3}}, r"^train.model: got 3, expected a string$"),
    ]
    for raw, message in cases:
      with self.subTest(raw=raw):
        with self.assertRaisesRegex(ConfigError, message):
          config(**raw)

  def test_whole_floats_are_whole_numbers(self):
    built = config(train={"rounds": 3.0})
    self.assertEqual(built.train.rounds, 3)
    self.assertIsInstance(built.train.rounds, int)

  def test_groups_and_counts_take_string_keys_from_json(self):
    built = config(data={"partition": "groups", "samples_per_client": 5, "groups": GROUPS},
                   train={"devices_per_group": {"0": 2, "1": 1}})
    self.assertEqual(built.data.groups, {0: (0, 1, 2, 3, 4), 1: (5, 6, 7, 8, 9)})
    self.assertEqual(built.train.devices_per_group, {0: 2, 1: 1})

  def test_non_finite_numbers_are_refused(self):
    for field, value in (("client_lr", float("inf")), ("server_lr", float("nan")),
                         ("mu", float("inf")), ("client_momentum", float("-inf")),
                         ("trim_fraction", float("nan"))):
      with self.subTest(field=field):
        with self.assertRaisesRegex(ConfigError,
                                    f"^train.{field}: got {value}, expected a finite number"):
          config(train={field: value})
    with self.assertRaisesRegex(ConfigError, "^data.alpha: got inf, expected a finite number"):
      config(data={"alpha": float("inf")})


class FieldsThatMustAgreeTest(unittest.TestCase):

  def test_epochs_or_steps_not_both_nor_neither(self):
    with self.assertRaisesRegex(ConfigError, r"^train.steps: got 3 with train.epochs 1; "
                                             r"expected exactly one of them, the other null"):
      config(train={"steps": 3})
    with self.assertRaisesRegex(ConfigError, r"^train.steps: got None with train.epochs "
                                             r"None; expected exactly one of them"):
      config(train={"epochs": None})
    self.assertEqual(config(train={"epochs": None, "steps": 4}).train.steps, 4)

  def test_client_adam_is_for_fedavg_fedprox_and_centralized_without_momentum(self):
    self.assertEqual(config(train={"client_optimizer": "adam"}).train.client_optimizer,
                     "adam")
    cases = [({"client_optimizer": "rmsprop"},
              r"^train.client_optimizer: got 'rmsprop', expected one of sgd, adam$"),
             ({"client_optimizer": "adam", "algorithm": "fedsgd"},
              r"^train.client_optimizer: got 'adam', but fedsgd takes 'sgd'"),
             ({"client_optimizer": "adam", "client_momentum": 0.9},
              r"^train.client_momentum: got 0.9, but it is SGD's; expected null with "
              r"train.client_optimizer 'adam'$")]
    for train, message in cases:
      with self.subTest(train=train):
        with self.assertRaisesRegex(ConfigError, message):
          config(train=train)

  def test_devices_per_group_names_the_groups_of_a_group_partition(self):
    data = {"partition": "groups", "samples_per_client": 5, "groups": GROUPS}
    with self.assertRaisesRegex(ConfigError, r"^train.devices_per_group: got \{0: 1, 7: 1\}, "
                                             r"expected a count for each group of "
                                             r"data.groups \(0, 1\)"):
      config(data=data, train={"devices_per_group": {"0": 1, "7": 1}})
    with self.assertRaisesRegex(ConfigError, r"^train.devices_per_group: got \{0: 1\}, "
                                             r"but data.partition is 'natural'; expected it "
                                             r"with data.partition groups"):
      config(train={"devices_per_group": {"0": 1}})
    with self.assertRaisesRegex(ConfigError, r"^train.devices_per_group: got \{0: -1, 1: 1\}"
                                             r", expected counts >= 0"):
      config(data=data, train={"devices_per_group": {"0": -1, "1": 1}})

  def test_byzantine_against_a_fixed_number_of_clients_per_round(self):
    data = {"partition": "groups", "samples_per_client": 5, "groups": GROUPS}
    with self.assertRaisesRegex(ConfigError, r"^train.byzantine: got 2, but Krum needs at "
                                             r"least 2f \+ 3 = 7 clients per round and "
                                             r"train.devices_per_group gives 6"):
      config(data=data, train={"aggregator": "krum", "byzantine": 2,
                               "devices_per_group": {"0": 3, "1": 3}})

  def test_dataset_options_are_those_of_the_dataset(self):
    with self.assertRaisesRegex(ConfigError, r"^data.options: synthetic_iid: unknown option "
                                             r"'alpha'; it accepts num_devices$"):
      config(data={"dataset": "synthetic_iid", "options": {"alpha": 1.0}})
    with self.assertRaisesRegex(ConfigError, r"^data.options: synthetic option alpha: got "
                                             r"'abc', expected a number"):
      config(data={"options": {"alpha": "abc"}})
    with self.assertRaisesRegex(ConfigError, r"^data.options: synthetic option alpha: got "
                                             r"inf, expected a finite number"):
      config(data={"options": {"alpha": float("inf")}})
    with self.assertRaisesRegex(ConfigError, r"^data.options: synthetic option num_devices: "
                                             r"got 2.5, expected a whole number"):
      config(data={"options": {"num_devices": 2.5}})


class OverridesTest(unittest.TestCase):

  def test_changing_the_dataset_drops_the_options_it_does_not_take(self):
    demo = demo_config()
    changed = demo.with_overrides(["data.dataset=synthetic_iid"])
    self.assertEqual(changed.data.dataset, "synthetic_iid")
    self.assertEqual(dict(changed.data.options), {})
    self.assertEqual(dropped_options(demo, changed), ["alpha", "beta"])
    five = demo.with_overrides(["data.options={\"alpha\": 1, \"num_devices\": 5}"])
    kept = five.with_overrides(["data.dataset=synthetic_iid"])
    self.assertEqual(dict(kept.data.options), {"num_devices": 5})

  def test_options_given_with_the_new_dataset_are_kept_and_checked(self):
    with self.assertRaisesRegex(ConfigError, "synthetic_iid: unknown option 'alpha'"):
      demo_config().with_overrides(["data.dataset=synthetic_iid",
                                    "data.options={\"alpha\": 1}"])

  def test_malformed_overrides(self):
    for override in ("train.rounds", "rounds=3", "model.rounds=3"):
      with self.subTest(override=override):
        with self.assertRaisesRegex(ConfigError, rf"^--set: got {override!r}, expected "
                                                 rf"SECTION.FIELD=VALUE with SECTION data or "
                                                 rf"train, e.g. train.rounds=20$"):
          demo_config().with_overrides([override])

  def test_non_finite_override(self):
    with self.assertRaisesRegex(ConfigError, "^train.client_lr: got inf, expected a finite"):
      demo_config().with_overrides(["train.client_lr=Infinity"])


class KeyValueTest(unittest.TestCase):

  def test_values_are_json_else_strings(self):
    for text, expected in (("a=1", ("a", 1)), ("alpha=0.5", ("alpha", 0.5)),
                           ("label_mode=coarse", ("label_mode", "coarse")),
                           (" k = [1, 2] ", ("k", [1, 2])), ("flag=true", ("flag", True)),
                           ("x=a=b", ("x", "a=b")), ("x=", ("x", ""))):
      self.assertEqual(parse_key_value(text, "--set"), expected)

  def test_without_a_key_or_an_equals_sign(self):
    for text in ("gamma", "=1", " =1"):
      with self.subTest(text=text):
        with self.assertRaisesRegex(ConfigError, f"^--dataset-option: got {text!r}, expected "
                                                 f"KEY=VALUE"):
          parse_key_value(text, "--dataset-option")


class LoadConfigTest(unittest.TestCase):

  def setUp(self):
    import tempfile
    self.directory = tempfile.mkdtemp()

  def write(self, name, data: bytes):
    path = os.path.join(self.directory, name)
    with open(path, "wb") as stream:
      stream.write(data)
    return path

  def test_non_utf8_file_is_one_line_naming_it(self):
    path = self.write("latin1.json", '{"name": "caf\xe9"}'.encode("latin-1"))
    with self.assertRaisesRegex(ConfigError, rf"^config: {path} is not UTF-8 text \(byte "
                                             rf"0xe9 at offset 13\); save it as UTF-8$"):
      load_config(path)

  def test_round_trip(self):
    path = self.write("demo.json", demo_config().to_json().encode())
    self.assertEqual(load_config(path), demo_config())
    with open(path) as stream:
      self.assertEqual(json.load(stream)["data"]["options"], {"alpha": 1.0, "beta": 1.0})


if __name__ == "__main__":
  unittest.main()
