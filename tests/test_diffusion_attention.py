"""Prompt-to-prompt on a tiny random small model: attention hooks, controllers, the edit
and per-token attention-map images."""

import functools
import os

import numpy as np
import tensorflow as tf

from tasks.diffusion.attention_control import (AttentionController, AttentionEdit, Refine,
                                               Replace, Reweight, Store, token_scale)
from tasks.diffusion.attention_hooks import attention_sites, hooked, map_size
from tasks.diffusion.attention_maps import (map_shape, prompt_positions, save_token_maps,
                                            token_maps, token_words, upsample_nearest)
from tasks.diffusion.local_blend import LocalBlend, blend_mask
from tasks.diffusion.prompt_to_prompt import align_tokens, edit, edit_controller, edits
from tasks.diffusion.sampler import generate
from tests.shared_data import requires_data, shared_data_dir
from tff_course.errors import ConfigError

SOURCE, EDITED = "a photo of a cat", "a photo of a dog"
SAMPLING = dict(seed=1, steps=3, guidance=7.5, progress=False)
NAMES = ["down_4x4_0/self", "down_4x4_0/cross", "down_2x2_0/self", "down_2x2_0/cross",
         "mid_1x1_0/self", "mid_1x1_0/cross", "up_2x2_0/self", "up_2x2_0/cross",
         "up_4x4_0/self", "up_4x4_0/cross"]
needs_vocabulary = requires_data("clip", "bpe_simple_vocab_16e6.txt.gz")


@functools.lru_cache(maxsize=None)
def tiny_model():
  from tasks.diffusion.small_model import SmallModelConfig, build_small_model

  config = SmallModelConfig(image_shape=(16, 16, 1), channels=32, autoencoder_channels=64,
                            heads=2, text_width=32, text_layers=1)
  return build_small_model(config, vocabulary=os.path.join(shared_data_dir(), "clip"))


def unet_inputs(model, prompts=(SOURCE, EDITED)):
  count = len(prompts)
  latents = np.random.default_rng(0).standard_normal((2 * count,) + model.latent_shape)
  context = tf.concat([model.encode_prompts([""] * count),
                      model.encode_prompts(list(prompts))], axis=0)
  return latents.astype(np.float32), np.full([2 * count], 500), context


def unet_output(model):
  return model.predict_noise(*unet_inputs(model)).numpy()


class Capture(AttentionController):
  """Keeps every layer's weights, in eager calls."""

  def __init__(self):
    super().__init__()
    self.seen = {}

  def attention(self, weights, *, layer, cross, step):
    self.seen[layer] = (weights.numpy(), cross)
    return weights


class Recording(AttentionController):
  """Wraps a controller and records, per step, every layer's weights before and after
  it."""

  def __init__(self, inner):
    super().__init__()
    self.inner, self.steps, self._pending = inner, [], {}

  def begin(self, num_steps):
    super().begin(num_steps)
    self.inner.begin(num_steps)

  def attention(self, weights, *, layer, cross, step):
    edited = self.inner.attention(weights, layer=layer, cross=cross, step=step)
    self._pending[f"before:{layer}"], self._pending[f"after:{layer}"] = weights, edited
    return edited

  def recorded(self):
    inner = {f"inner:{key}": value for key, value in self.inner.recorded().items()}
    return {**self._pending, **inner}

  def collect(self, values, step):
    self.steps.append({key.split(":", 1)[1]: (value, values[f"after:{key[7:]}"])
                       for key, value in values.items() if key.startswith("before:")})
    self.inner.collect({key[6:]: value for key, value in values.items()
                        if key.startswith("inner:")}, step)

  def end_step(self, latents, step):
    return self.inner.end_step(latents, step)


@needs_vocabulary
class HooksTest(tf.test.TestCase):

  def test_every_cross_attention_layer_is_named_by_its_place_and_size(self):
    sites = attention_sites(tiny_model())
    self.assertEqual([site.name for site in sites], NAMES)
    self.assertEqual(map_size("down_4x4_0/cross"), (4, 4))
    self.assertEqual(map_size("mid_1x1_0/self"), (1, 1))
    self.assertEqual(attention_sites(tiny_model()), attention_sites(
        tiny_model().diffusion_model))

  def test_hooks_see_weights_of_the_right_shape_that_sum_to_one(self):
    model, capture = tiny_model(), Capture()
    with hooked(model, capture):
      unet_output(model)
    self.assertEqual(sorted(capture.seen), sorted(NAMES))
    for name, (weights, cross) in capture.seen.items():
      height, width = map_size(name)
      keys = 77 if cross else height * width
      self.assertEqual(cross, name.endswith("/cross"))
      self.assertEqual(weights.shape, (4, 2, height * width, keys), name)
      self.assertAllClose(weights.sum(axis=-1), np.ones(weights.shape[:3]), atol=1e-5)

  def test_an_identity_controller_is_bit_for_bit_and_the_model_unchanged_after(self):
    model = tiny_model()
    before = unet_output(model)
    with hooked(model, AttentionController()) as sites:
      self.assertTrue(all("call" in vars(site.layer) for site in sites))
      hooked_output = unet_output(model)
    np.testing.assert_array_equal(hooked_output, before)
    np.testing.assert_array_equal(unet_output(model), before)
    self.assertFalse(any("call" in vars(site.layer) for site in attention_sites(model)))

  def test_an_exception_inside_the_block_removes_the_hooks_too(self):
    model = tiny_model()
    before = unet_output(model)
    doubled = Capture()
    doubled.attention = lambda weights, **unused: 2.0 * weights
    with self.assertRaisesRegex(RuntimeError, "inside"):
      with hooked(model, doubled):
        self.assertNotAllClose(unet_output(model), before)
        raise RuntimeError("inside")
    self.assertFalse(any("call" in vars(site.layer) for site in attention_sites(model)))
    np.testing.assert_array_equal(unet_output(model), before)

  def test_hooking_twice_or_a_model_without_cross_attention_is_one_line(self):
    model = tiny_model()
    with hooked(model, AttentionController()):
      with self.assertRaisesRegex(ConfigError, "^model: down_4x4_0/self is hooked "
                                               "already, expected one `hooked` block"):
        with hooked(model, AttentionController()):
          pass
    with self.assertRaisesRegex(ConfigError, "^model: text_encoder has no KerasCV "
                                             "CrossAttention layer"):
      with hooked(model.text_encoder, AttentionController()):
        pass

  def test_sampling_with_a_controller_outside_its_hooks_is_one_line(self):
    model, controller = tiny_model(), Store()
    message = "^controller: Store is not hooked into this model's attention layers"
    with self.assertRaisesRegex(ConfigError, message):
      generate(model, [SOURCE], controller=controller, **SAMPLING)
    with hooked(model, controller):
      pass
    with self.assertRaisesRegex(ConfigError, message):
      generate(model, [SOURCE], controller=controller, **SAMPLING)


class ControllersTest(tf.test.TestCase):
  """Edits on hand-made weights: two prompts, so rows are [uncond x2, source, edited]."""

  def weights(self, queries=16, keys=77):
    values = np.random.default_rng(3).random((4, 2, queries, keys)).astype(np.float32)
    return tf.constant(values / values.sum(axis=-1, keepdims=True))

  def edited(self, controller, weights, step, cross=True):
    controller.begin(10)
    return controller.attention(weights, layer="x/cross", cross=cross,
                                step=tf.constant(step)).numpy()

  def test_replace_gives_the_edited_row_the_source_maps_while_active(self):
    weights = self.weights()
    active = self.edited(Replace(tau_cross=0.5, tau_self=0.0), weights, 4)
    np.testing.assert_array_equal(active[:3], weights[:3])
    np.testing.assert_array_equal(active[3], weights[2])
    np.testing.assert_array_equal(self.edited(Replace(tau_cross=0.5), weights, 5), weights)

  def test_self_attention_injection_up_to_a_size(self):
    weights = self.weights(16, 16)
    inject = AttentionEdit(tau_self=0.3)
    np.testing.assert_array_equal(self.edited(inject, weights, 2, cross=False)[3],
                                  weights[2])
    np.testing.assert_array_equal(self.edited(inject, weights, 3, cross=False), weights)
    small = AttentionEdit(tau_self=1.0, self_max_queries=8)
    np.testing.assert_array_equal(self.edited(small, weights, 0, cross=False), weights)

  def test_refine_takes_aligned_tokens_from_the_source_and_keeps_new_ones(self):
    weights = self.weights()
    mapping = np.arange(77)
    mapping[5], mapping[6] = -1, 4
    result = self.edited(Refine([mapping], tau_cross=1.0), weights, 0)
    np.testing.assert_array_equal(result[:3], weights[:3])
    np.testing.assert_array_equal(result[3, ..., 5], weights[3, ..., 5])
    np.testing.assert_array_equal(result[3, ..., 6], weights[2, ..., 4])
    np.testing.assert_array_equal(result[3, ..., 7:], weights[2, ..., 7:])

  def test_reweight_scales_chosen_tokens_and_one_changes_nothing(self):
    weights = self.weights()
    scale = token_scale([[5, 6], [8]], [2.0, 0.5], keys=77)
    np.testing.assert_array_equal(scale[0, [4, 5, 6, 7, 8]], [1, 2, 2, 1, 0.5])
    result = self.edited(Reweight(scale, tau_cross=1.0), weights, 0)
    np.testing.assert_allclose(result[3], weights[3].numpy() * scale[0], rtol=1e-6)
    np.testing.assert_array_equal(result[:3], weights[:3])
    ones = Reweight(np.ones((1, 77)), tau_cross=1.0)
    np.testing.assert_array_equal(self.edited(ones, weights, 0), weights)
    on_swap = Reweight(scale, previous=Replace(), tau_cross=1.0)
    np.testing.assert_allclose(self.edited(on_swap, weights, 0)[3],
                               weights[2].numpy() * scale[0], rtol=1e-6)

  def test_store_averages_heads_and_sums_steps_per_layer(self):
    weights, store = self.weights(), Store()
    store.begin(2)
    store.attention(weights, layer="a/cross", cross=True, step=0)
    store.attention(weights, layer="a/self", cross=False, step=0)
    values = {key: value.numpy() for key, value in store.recorded().items()}
    self.assertEqual(list(values), ["a/cross"])
    store.collect(values, 0)
    store.collect(values, 1)
    np.testing.assert_allclose(store.sums["a/cross"], 2 * weights[2:].numpy().mean(axis=1))
    np.testing.assert_allclose(store.average_maps()[16], weights[2:].numpy().mean(axis=1))


class TokenAlignmentTest(tf.test.TestCase):

  def test_inserted_words_are_new_and_the_rest_pairs_up_in_order(self):
    start, end = 49406, 49407
    source = [start, 1, 2, 3, end, end, end, end]
    edited = [start, 1, 9, 2, 3, 8, end, end]
    self.assertEqual(align_tokens(source, edited), [0, 1, -1, 2, 3, -1, 4, 5])

  def test_identical_removed_and_repeated_tokens(self):
    self.assertEqual(align_tokens([5, 6, 7], [5, 6, 7]), [0, 1, 2])
    self.assertEqual(align_tokens([5, 6, 7, 8], [5, 8]), [0, 3])
    self.assertEqual(align_tokens([1, 2, 1], [1, 1, 2, 1]), [0, -1, 1, 2])
    self.assertEqual(align_tokens([], [4]), [-1])


class MapsAndBlendTest(tf.test.TestCase):

  def test_map_shapes_and_nearest_upsampling(self):
    self.assertEqual(map_shape(64, (512, 512)), (8, 8))
    self.assertEqual(map_shape(8, (32, 64)), (2, 4))
    with self.assertRaisesRegex(ConfigError, "^queries: got 7, expected h \\* w"):
      map_shape(7, (16, 16))
    maps = np.arange(4.0).reshape(1, 2, 2)
    np.testing.assert_array_equal(upsample_nearest(maps, (4, 4))[0],
                                  np.kron(maps[0], np.ones((2, 2))))

  def test_token_maps_pick_the_tokens_scaled_to_one(self):
    maps = np.zeros((4, 77), np.float32)
    maps[1, 2], maps[3, 2], maps[0, 1] = 0.5, 0.25, 0.1
    panels = token_maps(maps, [1, 2], (4, 4))
    self.assertEqual(panels.shape, (2, 4, 4))
    np.testing.assert_array_equal(panels[1, :2, 2:], np.ones((2, 2)))
    np.testing.assert_array_equal(panels[1, 2:, 2:], np.full((2, 2), 0.5))
    self.assertEqual(panels[0].max(), 1.0)

  def test_blend_mask_and_the_source_kept_outside_it(self):
    maps = np.zeros((2, 16, 77), np.float32)
    maps[0, 0, 5] = 1.0
    maps[1, 15, 5] = 1.0
    mask = blend_mask({"a/cross": maps}, [[5], [5]], (8, 8), 0.3)
    self.assertTrue(mask[0, 0, 0] and mask[1, 7, 7])
    self.assertFalse(mask[0, 7, 7] or mask[1, 0, 0] or mask[:, 3:5, 3:5].any())
    latents = tf.constant(np.stack([np.zeros((8, 8, 4)), np.ones((8, 8, 4))]), tf.float32)
    blend = LocalBlend([[5], [5]], start=0.5)
    self.assertIs(blend(latents, {"a/cross": maps}, 0, 4), latents)
    blended = blend(latents, {"a/cross": maps}, 2, 4).numpy()
    np.testing.assert_array_equal(blended[1, ..., 0], (mask[0] | mask[1]).astype(float))
    np.testing.assert_array_equal(blended[0], np.zeros((8, 8, 4)))


@needs_vocabulary
class EditTest(tf.test.TestCase):
  """Sampling with controllers: [source, edited] in one batch, 3 steps."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.store = Store()
    with hooked(tiny_model(), cls.store):
      cls.unedited = generate(tiny_model(), [SOURCE, EDITED], controller=cls.store,
                              **SAMPLING)

  def test_a_store_records_maps_and_changes_nothing(self):
    np.testing.assert_array_equal(self.unedited,
                                  generate(tiny_model(), [SOURCE, EDITED], **SAMPLING))
    maps = self.store.average_maps()
    self.assertEqual({queries: value.shape for queries, value in maps.items()},
                     {16: (2, 16, 77), 4: (2, 4, 77), 1: (2, 1, 77)})
    for value in maps.values():
      self.assertAllClose(value.sum(axis=-1), np.ones(value.shape[:2]), atol=1e-5)
    self.assertEqual(self.store.steps_seen, 3)

  def test_tau_zero_gives_the_unedited_images_bit_for_bit(self):
    result = edit(tiny_model(), SOURCE, EDITED, kind="swap", tau_cross=0.0, tau_self=0.0,
                  **SAMPLING)
    np.testing.assert_array_equal(np.stack([result.source, result.edited]), self.unedited)
    self.assertEqual(sorted(result.maps), [1, 4, 16])

  def test_edits_of_one_block_share_one_trace_and_match_single_edits(self):
    model = tiny_model()
    with edits(model, SOURCE, EDITED, kind="swap") as edit_at:
      swapped, plain = edit_at(0.4, 0.4, **SAMPLING), edit_at(0.0, 0.0, **SAMPLING)
      traced = [function for key, function in model._cache.items()
                if key.startswith("prediction/")]
    self.assertEqual([function.experimental_get_tracing_count() for function in traced], [1])
    np.testing.assert_array_equal(np.stack([plain.source, plain.edited]), self.unedited)
    single = edit(model, SOURCE, EDITED, kind="swap", tau_cross=0.4, tau_self=0.4, **SAMPLING)
    np.testing.assert_array_equal(swapped.edited, single.edited)
    for queries, maps in single.maps.items():
      np.testing.assert_array_equal(swapped.maps[queries], maps)

  def test_reweight_by_one_gives_the_unedited_images_bit_for_bit(self):
    result = edit(tiny_model(), SOURCE, EDITED, kind="reweight", weights={"dog": 1.0},
                  tau_cross=1.0, tau_self=0.0, **SAMPLING)
    np.testing.assert_array_equal(np.stack([result.source, result.edited]), self.unedited)

  def test_replacement_changes_exactly_the_hooked_maps_while_active(self):
    model = tiny_model()
    recording = Recording(Replace(tau_cross=0.4, tau_self=0.4))
    with hooked(model, recording):
      images = generate(model, [SOURCE, EDITED], controller=recording, **SAMPLING)
    np.testing.assert_array_equal(images[0], self.unedited[0])
    self.assertNotAllClose(images[1], self.unedited[1])
    self.assertLen(recording.steps, 3)
    for step, pairs in enumerate(recording.steps):
      self.assertEqual(sorted(pairs), sorted(NAMES))
      for name, (before, after) in pairs.items():
        np.testing.assert_array_equal(after[:3], before[:3], err_msg=name)
        if step == 0:
          np.testing.assert_array_equal(after[3], before[2], err_msg=name)
        else:
          np.testing.assert_array_equal(after[3], before[3], err_msg=name)

  def test_functions_traced_inside_the_block_are_dropped_on_the_way_out(self):
    model, doubled = tiny_model(), Capture()
    doubled.attention = lambda weights, **unused: 2.0 * weights
    with hooked(model, doubled):
      inside = generate(model, [SOURCE, EDITED], **SAMPLING)
    self.assertNotAllClose(inside, self.unedited)
    np.testing.assert_array_equal(generate(model, [SOURCE, EDITED], **SAMPLING),
                                  self.unedited)

  def test_bad_edits_are_one_line(self):
    model = tiny_model()
    cases = [
        (dict(edited_prompt="a photo of a small dog"),
         "^edited_prompt: 8 tokens against the source's 7, expected the same number "
         "for kind='swap' .*; use kind='refine'$"),
        (dict(kind="blend"), "^kind: got 'blend', expected one of swap, refine, reweight$"),
        (dict(tau_cross=1.5), "^tau_cross: got 1.5, expected a fraction"),
        (dict(kind="reweight"), "^weights: got None, expected {word: factor}"),
        (dict(weights={"horse": 2.0}), "^weights: 'horse' is not in the edited prompt"),
        (dict(blend_words=["horse"]), "^blend_words: 'horse' is in neither prompt"),
    ]
    for overrides, message in cases:
      arguments = dict(model=model, source_prompt=SOURCE, edited_prompt=EDITED)
      arguments.update(overrides)
      with self.assertRaisesRegex(ConfigError, message):
        edit_controller(**arguments)
    self.assertIsInstance(edit_controller(model, SOURCE, "a photo of a small dog",
                                          kind="refine"), Refine)

  def test_refine_aligns_the_prompts_tokens(self):
    controller = edit_controller(tiny_model(), SOURCE, "a photo of a small cat",
                                 kind="refine", blend_words=["cat"])
    self.assertEqual(list(controller.mapping[0, :9]), [0, 1, 2, 3, 4, -1, 5, 6, 7])
    self.assertEqual(controller.blend.positions, [[5], [6]])

  def test_per_token_maps_are_drawn_with_their_words(self):
    model = tiny_model()
    ids = model.tokens([EDITED])[0]
    self.assertEqual(token_words(model.tokenizer, [ids[i] for i in prompt_positions(
        model.tokenizer, ids)]), ["a", "photo", "of", "a", "dog"])
    path = os.path.join(self.create_tempdir().full_path, "maps", "dog.png")
    save_token_maps(path, self.store.average_maps(), model.tokenizer, ids, row=1,
                    resolution=4, image=self.unedited[1], title=EDITED)
    with open(path, "rb") as stream:
      self.assertEqual(stream.read(8), b"\x89PNG\r\n\x1a\n")
    self.assertEqual(os.listdir(os.path.dirname(path)), ["dog.png"])
    with self.assertRaisesRegex(ConfigError, r"^resolution: got 3, expected one of "
                                             r"\[1, 2, 4\]"):
      save_token_maps(path, self.store.average_maps(), model.tokenizer, ids,
                      resolution=3, image=self.unedited[1])


if __name__ == "__main__":
  tf.test.main()
