"""The Vision Transformer's own layers: the class token with the position embedding, and
softmax self-attention over PyTorch's fused query-key-value projection."""

from __future__ import annotations

import tensorflow as tf


def truncated_normal():
  """The tokens' and linear layers' initializer: normal, std 0.02, cut at two standard
  deviations (DINO's cuts at +-2, hardly at all)."""
  return tf.keras.initializers.TruncatedNormal(stddev=0.02)


@tf.keras.utils.register_keras_serializable(package="tff_course")
class ClassTokenPositions(tf.keras.layers.Layer):
  """(B, N, width) patch tokens -> (B, 1 + N, width): the learned class token first, then
  the learned position embedding added to every token.

  Its weights keep PyTorch's names and shapes, cls_token (1, 1, width) and pos_embed
  (1, 1 + N, width); `torch_weights` gives them by key.
  """

  def build(self, input_shape):
    tokens, width = input_shape[1] + 1, input_shape[2]
    self.cls_token = self.add_weight(name="cls_token", shape=(1, 1, width),
                                     initializer=truncated_normal())
    self.pos_embed = self.add_weight(name="pos_embed", shape=(1, tokens, width),
                                     initializer=truncated_normal())
    super().build(input_shape)

  def call(self, patches):
    cls = tf.tile(tf.cast(self.cls_token, patches.dtype), [tf.shape(patches)[0], 1, 1])
    return tf.concat([cls, patches], axis=1) + tf.cast(self.pos_embed, patches.dtype)

  def torch_weights(self):
    """PyTorch key -> variable (same axis order in both)."""
    return {"cls_token": self.cls_token, "pos_embed": self.pos_embed}


@tf.keras.utils.register_keras_serializable(package="tff_course")
class SelfAttention(tf.keras.layers.Layer):
  """(B, T, 3 * width) fused q, k, v -> (B, T, width): softmax(q k^T / sqrt(head_dim)) v
  per head, heads concatenated.

  The fused features split as PyTorch's timm/DINO Attention reshapes them: (3, heads,
  head_dim), so q is the first `width` features, head h its h-th run of head_dim.
  """

  def __init__(self, heads: int, **kwargs):
    super().__init__(**kwargs)
    self.heads = heads

  def call(self, qkv):
    batch, tokens = tf.shape(qkv)[0], tf.shape(qkv)[1]
    width = qkv.shape[-1] // 3
    head_dim = width // self.heads
    split = tf.reshape(qkv, [batch, tokens, 3, self.heads, head_dim])
    query, key, value = tf.unstack(tf.transpose(split, [2, 0, 3, 1, 4]))
    logits = tf.matmul(query, key, transpose_b=True) * tf.cast(head_dim ** -0.5, qkv.dtype)
    mixed = tf.matmul(tf.nn.softmax(logits, axis=-1), value)
    return tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [batch, tokens, width])

  def get_config(self):
    return {**super().get_config(), "heads": self.heads}
