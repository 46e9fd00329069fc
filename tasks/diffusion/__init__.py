"""Text-to-image diffusion on KerasCV's Stable Diffusion design: its published weights and
CLIP tokenizer (KerasCV's download or local files), a small model of the same design that
trains on a laptop, a guided DDIM sampler, DreamBooth, prompt-to-prompt attention editing,
and the course's experiments judged by an independent classifier."""
