"""tff-course: install with `make install` (see README): tensorflow-federated 0.87 must be
installed with --no-deps because its metadata pins a jaxlib that is not on PyPI."""

import re

from setuptools import find_packages, setup

with open("tff_course/__init__.py", encoding="utf-8") as stream:
  VERSION = re.search(r'__version__ = "([^"]+)"', stream.read()).group(1)

setup(
    name="tff-course",
    version=VERSION,
    description="Federated learning and efficient ML course toolkit on TensorFlow Federated",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=("tff_course*", "pruning*", "tasks*")),
    install_requires=[
        # The pinned, verified versions are in requirements.txt; tensorflow-federated is
        # left out here because pip cannot resolve its jax pin (see README).
        "numpy>=1.25,<2",
        "matplotlib>=3.7",
        "tensorflow>=2.14,<2.15",
        "tensorflow-datasets>=4.9,<4.10",
        "keras-cv>=0.6,<0.7",
        "tqdm>=4.64",
    ],
    entry_points={"console_scripts": ["tff-course = tff_course.cli.main:run",
                                    "pruning = pruning.cli:run"]},
)
