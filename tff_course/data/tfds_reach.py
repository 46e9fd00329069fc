"""Whether tensorflow-datasets can get a dataset now: prepared on disk, or its hosts answer.

Offline, tensorflow-datasets 4.9.3 retries every file ten times with growing pauses
(about 3.5 minutes for MNIST) and leaves partial folders; one short connection to each
host it would download from tells the same in seconds.
"""

from __future__ import annotations

import glob
import os
import socket
import urllib.parse
import urllib.request
from typing import Iterable, Optional, Sequence, Tuple

from tff_course.data.locate import DATA_DIR_ENV
from tff_course.errors import DataError

PROBE_SECONDS = 3.0
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def check_reachable(tfds_name: str, tfds_dir: Optional[str], *,
                    timeout: float = PROBE_SECONDS) -> None:
  """Returns if `tfds_name` is prepared in tensorflow-datasets' data directories or
  every host it downloads from accepts a connection within `timeout` seconds.

  A dataset whose builder lists no download URLs is let through.

  Raises:
    DataError: neither; one line saying what to do instead.
  """
  import tensorflow_datasets as tfds
  from tensorflow_datasets.core.utils import file_utils

  builder = tfds.builder_cls(tfds_name)
  roots = file_utils.list_data_dirs(given_data_dir=tfds_dir, dataset=tfds_name)
  if is_prepared(roots, tfds_name, str(builder.VERSION)):
    return
  for host, port in download_addresses(builder.url_infos or ()):
    reason = unreachable(host, port, timeout)
    if reason is not None:
      raise DataError(
          f"{tfds_name}: no network to download it through tensorflow-datasets "
          f"({host}:{port} {reason}); pass --data-dir DIR holding the official files "
          f"(see README: Datasets) or set ${DATA_DIR_ENV}")


def is_prepared(roots: Sequence[str], tfds_name: str, version: str) -> bool:
  """Whether some root holds `tfds_name` at `version`, as `<root>/<name>/<version>` or,
  for a builder with configs, `<root>/<name>/<config>/<version>`."""
  for root in roots:
    base = os.path.join(os.path.expanduser(os.fspath(root)), tfds_name)
    if os.path.isdir(os.path.join(base, version)):
      return True
    if any(os.path.isdir(path)
           for path in glob.glob(os.path.join(glob.escape(base), "*", version))):
      return True
  return False


def download_addresses(urls: Iterable[str]) -> Tuple[Tuple[str, int], ...]:
  """The (host, port) pairs that downloading `urls` connects to first, sorted, each once:
  the URL's own, or its scheme's proxy from the environment."""
  return tuple(sorted({connect_address(url) for url in urls}))


def connect_address(url: str) -> Tuple[str, int]:
  """(host, port) a download of `url` connects to: its proxy's when one is set for it."""
  parts = urllib.parse.urlsplit(url)
  proxy = urllib.request.getproxies().get(parts.scheme)
  if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
    if "//" not in proxy:
      proxy = f"http://{proxy}"
    parts = urllib.parse.urlsplit(proxy)
  return parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)


def unreachable(host: str, port: int, timeout: float) -> Optional[str]:
  """None if `host:port` accepts a TCP connection within `timeout` seconds, else why not."""
  try:
    socket.create_connection((host, port), timeout=timeout).close()
  except OSError as error:
    return f"unreachable: {error.strerror or str(error) or type(error).__name__}"
  return None
