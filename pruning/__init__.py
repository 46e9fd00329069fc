"""From-scratch Keras pruning (planned: issue 5). Nothing is implemented here yet."""
