"""A controller that starts two sleeping processes in a ProcessGroup, prints "pids A B",
then waits on them until it is signalled."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tff_course.distributed.process_group import ProcessGroup  # pylint: disable=wrong-import-position

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]

if __name__ == "__main__":
  with ProcessGroup({"worker 0": SLEEPER, "worker 1": SLEEPER}) as group:
    print("pids", *(process.pid for process in group.processes.values()), flush=True)
    group.wait()
