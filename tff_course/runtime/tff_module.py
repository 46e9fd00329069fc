"""Import TensorFlow Federated through here: `from tff_course.runtime.tff_module import tff`.

Importing TFF installs TFF's own default context, whose worker nobody stops and
whose destructor prints an AttributeError at interpreter exit. Importing it through
this module replaces that context with the toolkit's at once.
"""

import tensorflow_federated as tff

from tff_course.runtime.context import install_context

install_context()

__all__ = ["tff"]
