"""Text-to-image diffusion on KerasCV's Stable Diffusion: its published weights and CLIP
tokenizer, loaded through KerasCV's own download or from local files."""
