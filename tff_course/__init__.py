"""tff-course: federated learning and efficient machine learning on TensorFlow Federated."""

from tff_course.tf_log import quiet_tf_log

__version__ = "0.1.0"

quiet_tf_log()
