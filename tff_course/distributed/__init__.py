"""Distributed training on TensorFlow's runtime: large-batch optimizers (LARS, LAMB) and
their learning-rate schedules and scaling rules."""
