"""The learning-rate schedules' names, importable without TensorFlow."""

SCHEDULES = ("constant", "cosine", "step")
