"""Published PyTorch and safetensors checkpoints, read without PyTorch, as Keras models."""
