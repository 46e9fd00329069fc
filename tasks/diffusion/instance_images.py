"""DreamBooth's instance images: a folder of a few pictures of one subject, read at the
model's image size and channel count, and written from a dataset's images.

Every file with an image extension must decode: a training run never uses fewer images
than the folder holds without the user knowing. Files of other kinds are skipped and
said so in the notes, as is every lossy change made to an image (a crop, a resize, a
colour image turned grayscale, transparency flattened, frames after the first).
Transparent pixels are composited on black by default: Fashion-MNIST, the small model's
grayscale dataset, shows every item on black, so a cut-out on transparency keeps the
background the model knows; `background` picks another gray level (white for subjects
photographed on light backgrounds).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import List, Sequence, Tuple

import numpy as np

from tff_course.errors import ConfigError, DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
BACKGROUND = 0
_READ = "/".join(EXTENSIONS)


def load_instance_images(folder: str, image_shape: Sequence[int], *,
                         background: int = BACKGROUND) -> Tuple[np.ndarray, List[str]]:
  """Reads a folder's images at the model's size and channel count.

  Files are read in name order; hidden files are skipped. Each image is turned upright
  by its EXIF orientation, converted to grayscale (C = 1) or RGB (C = 3) with
  transparency composited on `background` (0 black .. 255 white), and, when its size
  differs from (H, W), center-cropped to that aspect ratio and resampled (Lanczos).

  Args:
    folder: the instance folder.
    image_shape: the model's (H, W, C), C being 1 or 3.
    background: gray level that transparent pixels are composited on.

  Returns:
    uint8 images (N, H, W, C), and one line per file changed in a lossy way or skipped.

  Raises:
    ConfigError: `image_shape` or `background` is out of range.
    DataError: the folder is missing or holds no image file, or a file with an image
      extension is not an image or cannot be decoded.
  """
  height, width, channels = _checked_shape(image_shape)
  if not 0 <= background <= 255:
    raise ConfigError(f"background: got {background}, expected a gray level 0 to 255")
  names = _listed_files(folder)
  images, notes = [], []
  for name in names:
    if not name.lower().endswith(EXTENSIONS):
      notes.append(f"{name}: skipped, not a {_READ} file")
      continue
    image, changes = _read(os.path.join(folder, name), (height, width), channels,
                           background)
    images.append(image)
    if changes:
      notes.append(f"{name}: " + "; ".join(changes))
  if not images:
    raise DataError(f"instance images: {folder} holds no image file (found "
                    f"{_listing(names)}); expected {_READ} files")
  return np.stack(images), notes


def save_instance_images(images: np.ndarray, folder: str) -> List[str]:
  """Writes uint8 images (N, H, W, C), C 1 or 3, as PNGs 000.png, 001.png, ... into a
  new folder, all or nothing: they are written beside it and the folder renamed into
  place. An existing folder must be empty, or hold exactly these images (then nothing
  is written). Returns the files' paths.

  Raises:
    ConfigError: `images` is not uint8 (N, H, W, 1 or 3) with N >= 1, or `folder`
      holds other files.
  """
  images = np.asarray(images)
  if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3) or \
      not len(images):
    raise ConfigError(f"images: got {images.dtype} {images.shape}, expected uint8 "
                      f"(N >= 1, H, W, 1 or 3)")
  names = [f"{index:03d}.png" for index in range(len(images))]
  paths = [os.path.join(folder, name) for name in names]
  if os.path.exists(folder) and not os.path.isdir(folder):
    raise ConfigError(f"instance folder: {folder} is a file; expected a new or empty "
                      f"folder")
  if os.path.isdir(folder) and os.listdir(folder):
    if _holds(folder, names, images):
      return paths
    raise ConfigError(f"instance folder: {folder} already holds other files; expected a "
                      f"new or empty folder")
  parent = os.path.dirname(os.path.abspath(folder))
  os.makedirs(parent, exist_ok=True)
  temp = tempfile.mkdtemp(prefix=".tmp-", dir=parent)
  try:
    for name, image in zip(names, images):
      _pil_image(image).save(os.path.join(temp, name), format="PNG")
    os.chmod(temp, 0o777 & ~_umask())
    os.replace(temp, folder)
  finally:
    shutil.rmtree(temp, ignore_errors=True)
  return paths


def save_png(image: np.ndarray, path: str) -> str:
  """Writes one uint8 image (H, W, 1 or 3) as a PNG, whole or not at all."""
  from tff_course.atomic import atomic_path

  with atomic_path(path) as temp:
    _pil_image(image).save(temp, format="PNG")
  return path


def _checked_shape(image_shape: Sequence[int]) -> Tuple[int, int, int]:
  shape = tuple(image_shape)
  if len(shape) != 3 or shape[2] not in (1, 3) or min(shape) < 1:
    raise ConfigError(f"image_shape: got {shape}, expected (H, W, C) with C 1 or 3")
  return int(shape[0]), int(shape[1]), int(shape[2])


def _listed_files(folder: str) -> List[str]:
  if not os.path.exists(folder):
    raise DataError(f"instance images: {folder} does not exist; expected a folder of "
                    f"{_READ} images")
  if not os.path.isdir(folder):
    raise DataError(f"instance images: {folder} is a file; expected a folder of {_READ} "
                    f"images")
  return sorted(name for name in os.listdir(folder) if not name.startswith(".") and
                os.path.isfile(os.path.join(folder, name)))


def _listing(names: Sequence[str]) -> str:
  if not names:
    return "nothing"
  return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _read(path: str, size: Tuple[int, int], channels: int,
          background: int) -> Tuple[np.ndarray, List[str]]:
  from PIL import Image, ImageOps

  try:
    with Image.open(path) as opened:
      frames = getattr(opened, "n_frames", 1)
      opened.seek(0)
      opened.load()
      image = ImageOps.exif_transpose(opened)
      image.load()
  except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as error:
    raise DataError(f"instance images: {path} cannot be read as an image "
                    f"({_reason(error)}); remove or replace it") from None
  changes = [f"first of {frames} frames used"] if frames > 1 else []
  image, flattened = _flattened(image, background)
  if flattened:
    changes.append(f"transparency composited on gray level {background}")
  image, grayed = _converted(image, channels)
  if grayed:
    changes.append("colour converted to grayscale")
  image, resized = _resized(image, size)
  if resized:
    changes.insert(0, resized)
  array = np.asarray(image, np.uint8)
  return array.reshape(size + (channels,)), changes


def _reason(error: BaseException) -> str:
  from PIL import UnidentifiedImageError

  if isinstance(error, UnidentifiedImageError):
    return "not in a format Pillow reads"
  text = " ".join(str(error).split()) or type(error).__name__
  return text if len(text) <= 120 else text[:117] + "..."


def _flattened(image, background: int):
  """The image without alpha, composited on `background`; whether any pixel was
  transparent."""
  from PIL import Image

  if image.mode in ("P", "PA") or "transparency" in image.info:
    image = image.convert("RGBA")
  image = _eight_bit(image)
  if "A" not in image.getbands() and image.mode not in ("La", "RGBa"):
    return image, False
  rgba = image.convert("RGBA")
  if rgba.getextrema()[3][0] == 255:
    return rgba.convert("RGB"), False
  base = Image.new("RGBA", rgba.size, (background,) * 3 + (255,))
  return Image.alpha_composite(base, rgba).convert("RGB"), True


def _eight_bit(image):
  """16- and 32-bit grayscale (16-bit PNGs) scaled to 8 bits rather than clipped."""
  from PIL import Image

  if not image.mode.startswith("I"):
    return image
  values = np.asarray(image, np.float64) / 257.0
  return Image.fromarray(np.clip(np.round(values), 0, 255).astype(np.uint8))


def _converted(image, channels: int):
  """The image in mode L (1 channel) or RGB (3); whether colour was lost."""
  if channels == 3:
    return image.convert("RGB"), False
  if image.mode in ("L", "1"):
    return image.convert("L"), False
  rgb = np.asarray(image.convert("RGB"))
  colour = bool(np.any(rgb[..., 0] != rgb[..., 1]) or np.any(rgb[..., 1] != rgb[..., 2]))
  return image.convert("RGB").convert("L"), colour


def _resized(image, size: Tuple[int, int]):
  """The image at `size` (H, W), center-cropped to its aspect ratio first; a note."""
  from PIL import Image

  height, width = size
  source_width, source_height = image.size
  if (source_width, source_height) == (width, height):
    return image, ""
  crop_width = min(source_width, round(source_height * width / height))
  crop_height = min(source_height, round(source_width * height / width))
  left, top = (source_width - crop_width) // 2, (source_height - crop_height) // 2
  image = image.crop((left, top, left + crop_width, top + crop_height))
  changes = [f"center-cropped to {crop_width}x{crop_height}"] if \
      (crop_width, crop_height) != (source_width, source_height) else []
  if (crop_width, crop_height) != (width, height):
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    changes.append(f"resized to {width}x{height}")
  return image, f"{source_width}x{source_height} " + " and ".join(changes)


def _pil_image(image: np.ndarray):
  from PIL import Image

  return Image.fromarray(np.ascontiguousarray(image[..., 0] if image.shape[-1] == 1
                                              else image))


def _holds(folder: str, names: Sequence[str], images: np.ndarray) -> bool:
  from PIL import Image

  if sorted(os.listdir(folder)) != sorted(names):
    return False
  for name, image in zip(names, images):
    try:
      with Image.open(os.path.join(folder, name)) as stored:
        array = np.asarray(stored)
    except (OSError, SyntaxError, ValueError):
      return False
    if array.shape != image.shape[:2] + ((3,) if image.shape[-1] == 3 else ()) or \
        not np.array_equal(array.reshape(image.shape), image):
      return False
  return True


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask
