"""SCAFFOLD's control-update options, importable without TensorFlow."""

OPTIONS = ("I", "II")
