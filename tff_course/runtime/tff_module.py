"""Import TensorFlow Federated through here: `from tff_course.runtime.tff_module import tff`.

Importing TFF installs TFF's own default context, whose worker nobody stops and
whose destructor prints an AttributeError at interpreter exit. Importing it through
this module replaces that context with the toolkit's at once.
"""

import tensorflow_federated as tff

from tff_course.runtime.context import install_context
from tff_course.tf_log import quiet_tf_python_log

install_context()
quiet_tf_python_log()

__all__ = ["tff"]
