"""tff-course: federated learning and efficient machine learning on TensorFlow Federated."""

__version__ = "0.1.0"
