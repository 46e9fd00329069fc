"""tff-course: install with `make install` (see README): tensorflow-federated 0.87 must be
installed with --no-deps because its metadata pins a jaxlib that is not on PyPI.

REQUIRES lists every third-party distribution the code imports (tests/test_layers.py
checks it against the imports) except INSTALLED_SEPARATELY: listing tensorflow-federated
would make `pip install` of this package fail on that jax pin. The pinned, verified
versions are in requirements.txt.
"""

import re

from setuptools import find_packages, setup

REQUIRES = [
    "grpcio>=1.46,<2",
    "h5py>=3.9",
    "ipython>=8.12,<8.23",
    "keras>=2.14,<2.15",
    "keras-cv==0.6.4",
    "matplotlib>=3.7",
    "numpy>=1.25,<2",
    "pillow>=9.1",
    "portpicker>=1.6,<2",
    "scipy>=1.9.3,<1.10",
    "tensorflow>=2.14,<2.15",
    "tensorflow-datasets>=4.9,<4.10",
    "tensorflow-model-optimization==0.7.5",
    "tensorflow-probability>=0.22,<0.23",
    "tqdm>=4.64",
]
INSTALLED_SEPARATELY = ["tensorflow-federated==0.87.0"]

with open("tff_course/__init__.py", encoding="utf-8") as stream:
  VERSION = re.search(r'__version__ = "([^"]+)"', stream.read()).group(1)

setup(
    name="tff-course",
    version=VERSION,
    description="Federated learning and efficient ML course toolkit on TensorFlow "
                "Federated",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=("tff_course*", "pruning*", "tasks*")),
    install_requires=REQUIRES,
    entry_points={"console_scripts": ["tff-course = tff_course.cli.main:run",
                                      "pruning = pruning.cli:run"]},
)
