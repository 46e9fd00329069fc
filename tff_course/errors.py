"""Exception classes: every error a user can act on derives from `TffCourseError`."""


class TffCourseError(Exception):
  """Base class of the errors the toolkit raises on purpose."""


class DataError(TffCourseError, ValueError):
  """A dataset file is missing, truncated, corrupt or of the wrong format."""


class ConfigError(TffCourseError, ValueError):
  """An argument or setting has a value the toolkit cannot use."""


class WorkerError(TffCourseError, RuntimeError):
  """A TFF worker did not start, stopped, or does not answer."""
