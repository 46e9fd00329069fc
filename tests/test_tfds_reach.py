import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from unittest import mock

import tensorflow as tf
import tensorflow_datasets as tfds

from tff_course.data import DATA_DIR_ENV, load_dataset
from tff_course.data.tfds_reach import (check_reachable, connect_address,
                                        download_addresses, is_prepared, unreachable)
from tff_course.errors import DataError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy")


@contextlib.contextmanager
def _environment(**variables):
  """os.environ without proxy settings or $TFF_COURSE_DATA_DIR, plus `variables`."""
  with mock.patch.dict(os.environ):
    os.environ.pop(DATA_DIR_ENV, None)
    for name in _PROXY_VARIABLES:
      os.environ.pop(name, None)
      os.environ.pop(name.upper(), None)
    os.environ.update(variables)
    yield


@contextlib.contextmanager
def _listening():
  """A local port that accepts connections."""
  with socket.socket() as server:
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]


def _closed_port():
  """A local port nothing listens on."""
  with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


def _builder(urls, version="3.0.1"):
  """A stand-in for a tensorflow-datasets builder class: its version and download URLs."""
  return type("FakeBuilder", (), {"VERSION": tfds.core.Version(version),
                                  "url_infos": {url: None for url in urls} or None})


class AddressTest(tf.test.TestCase):

  def test_hosts_and_ports_of_urls_each_once(self):
    urls = ["https://storage.googleapis.com/cvdf-datasets/mnist/a.gz",
            "https://storage.googleapis.com/cvdf-datasets/mnist/b.gz",
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/c.gz",
            "http://example.org:8080/d", "ftp://ftp.example.org/e"]
    with _environment():
      self.assertEqual(download_addresses(urls), (
          ("example.org", 8080), ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
          ("ftp.example.org", 21), ("storage.googleapis.com", 443)))

  def test_a_proxy_from_the_environment_is_what_is_reached(self):
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    with _environment(https_proxy="http://proxy.internal:3128"):
      self.assertEqual(connect_address(url), ("proxy.internal", 3128))
      self.assertEqual(connect_address("http://plain.org/x"), ("plain.org", 80))
    with _environment(HTTPS_PROXY="proxy.internal:3128"):
      self.assertEqual(connect_address(url), ("proxy.internal", 3128))
    with _environment(https_proxy="http://proxy.internal:3128", no_proxy=".toronto.edu"):
      self.assertEqual(connect_address(url), ("www.cs.toronto.edu", 443))


class UnreachableTest(tf.test.TestCase):

  def test_listening_port(self):
    with _listening() as port:
      self.assertIsNone(unreachable("127.0.0.1", port, 3.0))

  def test_closed_port_says_why(self):
    self.assertEqual(unreachable("127.0.0.1", _closed_port(), 3.0),
                     "unreachable: Connection refused")


class IsPreparedTest(tf.test.TestCase):

  def test_version_folder_with_or_without_config(self):
    root = self.create_tempdir().full_path
    os.makedirs(os.path.join(root, "mnist", "3.0.1.incompleteAB12"))
    os.makedirs(os.path.join(root, "mnist", "1.0.0"))
    self.assertFalse(is_prepared([root], "mnist", "3.0.1"))
    self.assertFalse(is_prepared([root], "cifar10", "3.0.1"))
    os.makedirs(os.path.join(root, "mnist", "3.0.1"))
    self.assertTrue(is_prepared([self.create_tempdir().full_path, root], "mnist", "3.0.1"))
    os.makedirs(os.path.join(root, "glue", "cola", "2.0.0"))
    self.assertTrue(is_prepared([root], "glue", "2.0.0"))


class CheckReachableTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.tfds_dir = self.create_tempdir().full_path
    self.enter_context(_environment())

  def _check(self, urls):
    with mock.patch.object(tfds, "builder_cls", return_value=_builder(urls)):
      check_reachable("mnist", self.tfds_dir)

  def test_unreachable_host_is_one_line_saying_what_to_do(self):
    port = _closed_port()
    with self.assertRaises(DataError) as raised:
      self._check([f"http://127.0.0.1:{port}/mnist/a.gz"])
    self.assertEqual(str(raised.exception), (
        f"mnist: no network to download it through tensorflow-datasets (127.0.0.1:{port} "
        f"unreachable: Connection refused); pass --data-dir DIR holding the official "
        f"files (see README: Datasets) or set ${DATA_DIR_ENV}"))

  def test_every_host_must_answer(self):
    closed = _closed_port()
    with _listening() as port:
      with self.assertRaisesRegex(DataError, f"127.0.0.1:{closed} unreachable"):
        self._check([f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{closed}/b"])

  def test_reachable_hosts_pass(self):
    with _listening() as port:
      self._check([f"http://127.0.0.1:{port}/a", f"http://localhost:{port}/b"])

  def test_prepared_dataset_needs_no_network(self):
    os.makedirs(os.path.join(self.tfds_dir, "mnist", "3.0.1"))
    self._check([f"http://127.0.0.1:{_closed_port()}/a"])

  def test_builder_without_urls_is_let_through(self):
    self._check([])


class FailedLoadCleanupTest(tf.test.TestCase):
  """A download that starts (hosts answer) and then fails leaves nothing new behind."""

  def test_partial_folders_are_removed_and_earlier_ones_kept(self):
    tfds_dir = self.create_tempdir().full_path
    kept = os.path.join(tfds_dir, "downloads", "earlier.tar.gz")
    os.makedirs(os.path.dirname(kept))
    open(kept, "w", encoding="utf-8").close()
    os.makedirs(os.path.join(tfds_dir, "cifar10", "3.0.2"))

    def partial_download(*args, **kwargs):
      del args, kwargs
      os.makedirs(os.path.join(tfds_dir, "downloads", "extracted", "x"))
      os.makedirs(os.path.join(tfds_dir, "mnist", "3.0.1.incompleteQ7"))
      open(os.path.join(tfds_dir, "downloads", "a.gz.tmp.42"), "w",
           encoding="utf-8").close()
      raise ConnectionError("connection reset by peer")

    with _environment(), _listening() as port, \
        mock.patch.object(tfds, "builder_cls",
                          return_value=_builder([f"http://127.0.0.1:{port}/a"])), \
        mock.patch.object(tfds, "load", side_effect=partial_download) as load:
      with self.assertRaisesRegex(DataError, r"mnist: could not load split 'train' "
                                  r"through tensorflow-datasets \(ConnectionError: "
                                  r"connection reset by peer\)"):
        load_dataset("mnist", data_dir=None, tfds_dir=tfds_dir)
    self.assertEqual(sorted(os.listdir(tfds_dir)), ["cifar10", "downloads"])
    self.assertEqual(os.listdir(os.path.join(tfds_dir, "downloads")), ["earlier.tar.gz"])
    config = load.call_args.kwargs["download_and_prepare_kwargs"]["download_config"]
    self.assertFalse(config.try_download_gcs)


class OfflineCommandTest(tf.test.TestCase):
  """The real thing, on a machine without network: one line in seconds, nothing left."""

  def test_mnist_without_data_dir_fails_fast_and_leaves_nothing(self):
    if unreachable("storage.googleapis.com", 443, 3.0) is None:
      self.skipTest("the network is there: this checks the offline failure")
    home = self.create_tempdir().full_path
    tfds_dir = os.path.join(self.create_tempdir().full_path, "tfds")
    os.makedirs(tfds_dir)
    env = {name: value for name, value in os.environ.items() if name != DATA_DIR_ENV}
    env.update(HOME=home, TFDS_DATA_DIR=tfds_dir, PYTHONPATH=REPO)
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tff_course", "data", "summary", "--dataset", "mnist"],
        cwd=home, env=env, capture_output=True, text=True, timeout=300, check=False)
    seconds = time.monotonic() - start
    self.assertEqual(result.returncode, 2, result.stderr[-2000:])
    self.assertLess(seconds, 60)
    self.assertLen(result.stderr.splitlines(), 1, result.stderr[-2000:])
    self.assertRegex(result.stderr.splitlines()[-1], re.escape(
        "tff-course: error: mnist: no network to download it through tensorflow-datasets "
        "(storage.googleapis.com:443 unreachable: "))
    self.assertEqual(os.listdir(tfds_dir), [])
    self.assertNotIn("tensorflow_datasets", os.listdir(home))


if __name__ == "__main__":
  tf.test.main()
