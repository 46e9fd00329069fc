"""Course tasks beyond federated training (planned: gradient inversion, issue 6)."""
