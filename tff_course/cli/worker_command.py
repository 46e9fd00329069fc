"""`tff-course worker`: one TFF executor service (TFF's own `worker_binary`) in the
foreground, for drivers on this or other machines (`--workers HOST:PORT,...`), and
`--check HOST:PORT` to wait until such a worker answers."""

from __future__ import annotations

import signal
import sys
import time

from tff_course.errors import ConfigError, WorkerError

_POLL_SECONDS = 0.2


def add_parser(commands) -> None:
  worker = commands.add_parser(
      "worker", help="serve one TFF worker that drivers send their rounds' clients to",
      description="Run TensorFlow Federated's C++ executor service (the worker_binary "
                  "that tensorflow-federated ships) in the foreground, on every network "
                  "interface of this machine, until Ctrl-C or SIGTERM. A driver uses it "
                  "with `tff-course train CONFIG --workers HOST:PORT,...`; it needs the "
                  "same tensorflow-federated version as the driver, and the data files "
                  "the clients read (see the README's guide to several machines).",
      epilog="examples: tff-course worker --port 8000 | "
             "tff-course worker --check localhost:8000 --timeout 30")
  worker.add_argument("--port", type=int, help="the port to serve on (1 to 65535)")
  worker.add_argument("--log", default="-", metavar="FILE",
                      help="file for the worker's own output (default: this terminal)")
  worker.add_argument("--check", metavar="HOST:PORT",
                      help="instead of serving: wait until the worker at HOST:PORT "
                           "answers, exit 0 if it does within --timeout, 2 if not")
  worker.add_argument("--timeout", type=float, default=30.0,
                      help="seconds --check waits (default: 30)")
  worker.set_defaults(handler=_worker)


def _worker(args) -> int:
  if args.check:
    return _check(args.check, args.timeout)
  if args.port is None or not 0 < args.port < 65536:
    raise ConfigError(f"--port: got {args.port}, expected a port from 1 to 65535")
  return _serve(args.port, args.log)


def _check(address: str, timeout: float) -> int:
  from tff_course.runtime.context import wait_for_worker
  from tff_course.runtime.worker_set import worker_set

  if not timeout > 0:
    raise ConfigError(f"--timeout: got {timeout}, expected seconds > 0")
  addresses = worker_set(address, "--check").addresses
  if len(addresses) != 1:
    raise ConfigError(f"--check: got {address!r}, expected one HOST:PORT, e.g. "
                      f"localhost:8000")
  (host, port), = addresses
  wait_for_worker(f"{host}:{port}", timeout=timeout)
  print(f"TFF worker {host}:{port} answers")
  return 0


def _serve(port: int, log: str) -> int:
  from tff_course.runtime.context import wait_for_worker
  from tff_course.runtime.worker import WorkerProcess

  worker = WorkerProcess(port, log_path=log)
  stop = []
  previous = {signum: signal.signal(signum, lambda signum, _: stop.append(signum))
              for signum in (signal.SIGINT, signal.SIGTERM)}
  try:
    try:
      wait_for_worker(f"localhost:{port}", worker)
    except WorkerError:
      raise WorkerError(f"the TFF worker did not start on port {port} (is the port in "
                        f"use? its output: {'above' if log == '-' else log})") from None
    print(f"TFF worker serving on port {port} (pid {worker.pid}); drivers: --workers "
          f"HOST:{port}; stop with Ctrl-C or SIGTERM", flush=True)
    while not stop and worker.running():
      time.sleep(_POLL_SECONDS)
    if not stop:
      raise WorkerError(f"the TFF worker on port {port} exited with status "
                        f"{worker.process.returncode}")
  finally:
    worker.stop()
    for signum, handler in previous.items():
      signal.signal(signum, handler)
  print(f"TFF worker on port {port} stopped ({signal.Signals(stop[0]).name})",
        file=sys.stderr)
  return 0
