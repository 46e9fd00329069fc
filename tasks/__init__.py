"""Course tasks beyond federated training: gradient inversion (issue 6) in `tasks.inversion`."""
