"""Sampling with classifier-free guidance (Ho and Salimans 2022) and DDIM steps, as
KerasCV's `StableDiffusion.generate_image` does, for any `TextToImage`; an optional
attention controller (prompt-to-prompt) sees every step."""

from __future__ import annotations

import sys
from typing import Optional, Sequence

import numpy as np

from tasks.diffusion.parts import TextToImage, to_uint8
from tasks.diffusion.schedule import ddim_step, sampling_timesteps
from tff_course.errors import ConfigError

MAX_GUIDANCE = 50.0


def initial_noise(model: TextToImage, seed: int, count: int, first: int = 0) -> np.ndarray:
  """Starting latents for images first .. first+count-1 of `seed`: image i gets the same
  noise whatever the prompt and however many images are drawn with it."""
  rows = [np.random.default_rng([seed, first + i]).standard_normal(model.latent_shape)
          for i in range(count)]
  return np.asarray(rows, np.float32)


def check_sampling(steps: int, guidance: float) -> None:
  """Raises ConfigError, one line, for a step count or guidance scale out of range."""
  if not 1 <= steps <= 1000:
    raise ConfigError(f"steps: got {steps}, expected 1 to 1000 sampling steps")
  if not 0.0 <= guidance <= MAX_GUIDANCE:
    raise ConfigError(f"guidance: got {guidance}, expected 0 to {MAX_GUIDANCE:g} (1 is "
                      f"no guidance, 7.5 is Stable Diffusion's default)")


def denoise(model: TextToImage, latents, prompts: Sequence[str], *, steps: int = 50,
            guidance: float = 7.5, negative_prompt: str = "", controller=None,
            progress: bool = True, description: str = "sampling"):
  """Runs the reverse process from `latents` (one per prompt) and returns the final
  latents.

  The unconditional and conditional passes of a step run as one batch, unconditional
  rows first, in one traced TF function, made once per model (and per controller in a
  `hooked` block, which drops it on the way out). A `controller` (prompt-to-prompt) must
  be hooked into the model (`attention_hooks.hooked`); it is told the step count
  (`begin(steps)`), the hooks call it while that function is traced, with the step
  index as a tensor; what it records there (`recorded()`, a dict of tensors) comes back
  from every step as NumPy (`collect(values, step)`), and `end_step(latents, step)` may
  change the latents.

  Raises:
    ConfigError: steps or guidance out of range, or a controller not hooked into
      `model`.
  """
  import tensorflow as tf
  from tqdm.auto import tqdm

  check_sampling(steps, guidance)
  hooked_to = getattr(controller, "hooked_to", None)
  if controller is not None and hooked_to is not model.diffusion_model:
    raise ConfigError(f"controller: {type(controller).__name__} is not hooked into this "
                      f"model's attention layers, so it would edit nothing; sample inside "
                      f"`with hooked(model, controller):` (prompt_to_prompt.edit does)")
  count = len(prompts)
  context = tf.concat([model.encode_prompts([negative_prompt] * count),
                       model.encode_prompts(list(prompts))], axis=0)
  latents = tf.convert_to_tensor(latents, tf.float32)
  timesteps = sampling_timesteps(steps)
  alphas = model.alphas_cumprod
  order = list(enumerate(timesteps))[::-1]
  if controller is not None:
    controller.begin(len(order))
  cache_key = "plain_prediction" if controller is None else f"prediction/{id(controller)}"
  predict = model.cached(cache_key, lambda: _traced_prediction(model, controller, context))
  for position, (index, timestep) in enumerate(tqdm(
      order, desc=description, unit="step", disable=not progress, file=sys.stderr,
      dynamic_ncols=True, leave=False)):
    noise, recorded = predict(tf.concat([latents, latents], 0),
                              tf.fill([2 * count], int(timestep)), context,
                              tf.constant(position, tf.int32))
    unconditional, conditional = noise[:count], noise[count:]
    guided = unconditional + guidance * (conditional - unconditional)
    previous = alphas[timesteps[index - 1]] if index > 0 else 1.0
    latents = ddim_step(latents, guided, float(alphas[timestep]), float(previous),
                        clip=model.clip_denoised)
    if controller is not None:
      controller.collect({key: value.numpy() for key, value in recorded.items()}, position)
      latents = controller.end_step(latents, position)
  return latents


def _traced_prediction(model: TextToImage, controller, context):
  """The UNet's noise prediction as one traced function of (latents, timesteps,
  context like `context`, step index) for any batch size, returning the controller's
  recorded tensors beside it."""
  import tensorflow as tf

  @tf.function(input_signature=[
      tf.TensorSpec((None,) + tuple(model.latent_shape), tf.float32),
      tf.TensorSpec((None,), tf.int32),
      tf.TensorSpec((None,) + tuple(context.shape[1:]), context.dtype),
      tf.TensorSpec((), tf.int32)])
  def predict(latents, timesteps, context, step):
    if controller is not None:
      controller.step = step
    noise = model.predict_noise(latents, timesteps, context)
    return noise, (controller.recorded() if controller is not None else {})

  return predict


def generate(model: TextToImage, prompts: Sequence[str], *, seed: int = 0, first: int = 0,
             steps: int = 50, guidance: float = 7.5, negative_prompt: str = "",
             controller=None, batch_size: Optional[int] = None, progress: bool = True,
             description: str = "sampling") -> np.ndarray:
  """One image per prompt, uint8 (len(prompts), H, W, C). Prompt i starts from image
  first+i's noise of `seed`; batches of `batch_size` (default: all at once) give the same
  images as one batch would, up to float rounding. A controller needs one batch."""
  check_sampling(steps, guidance)
  prompts = list(prompts)
  size = batch_size or len(prompts)
  if controller is not None and size < len(prompts):
    raise ConfigError(f"batch_size: got {size}, expected all {len(prompts)} prompts in "
                      f"one batch when an attention controller edits them")
  images = []
  for start in range(0, len(prompts), size):
    chunk = prompts[start:start + size]
    noise = initial_noise(model, seed, len(chunk), first + start)
    latents = denoise(model, noise, chunk, steps=steps, guidance=guidance,
                      negative_prompt=negative_prompt, controller=controller,
                      progress=progress, description=description)
    images.append(to_uint8(model.decoder(latents)))
  return np.concatenate(images, axis=0)
