"""DreamBooth's instance images (read at the model's size and channels, one-line errors,
written all or nothing) and the image grids and labeled figures of the diffusion tasks."""

import os
import tempfile
import unittest
from unittest import mock

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from tasks.diffusion import grids
from tasks.diffusion.grids import image_grid, save_labeled_grid, save_side_by_side
from tasks.diffusion.instance_images import load_instance_images, save_instance_images
from tff_course.errors import ConfigError, DataError


def noise(shape, seed=0):
  return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


class TempDirTest(unittest.TestCase):

  def folder(self, *parts):
    root = self.enterContext(tempfile.TemporaryDirectory())
    path = os.path.join(root, *parts)
    os.makedirs(path, exist_ok=True)
    return path

  def write(self, folder, name, array, mode=None, **save):
    image = Image.fromarray(array)
    if mode:
      image = image.convert(mode)
    image.save(os.path.join(folder, name), **save)

  def one_line_error(self, error_class, call, *needles):
    with self.assertRaises(error_class) as caught:
      call()
    message = str(caught.exception)
    self.assertNotIn("\n", message)
    for needle in needles:
      self.assertIn(needle, message)
    return message

  def leftovers(self, folder):
    return [name for name in os.listdir(folder) if name.startswith(".tmp-")]


class LoadInstanceImagesTest(TempDirTest):

  def test_missing_folder_or_a_file_is_one_line(self):
    folder = self.folder()
    missing = os.path.join(folder, "dog")
    self.one_line_error(DataError, lambda: load_instance_images(missing, (32, 32, 3)),
                        missing, "does not exist", ".png")
    self.write(folder, "a.png", noise((32, 32, 3)))
    file = os.path.join(folder, "a.png")
    self.one_line_error(DataError, lambda: load_instance_images(file, (32, 32, 3)), file,
                        "is a file", "folder")

  def test_empty_folder_names_the_extensions_read(self):
    folder = self.folder("empty")
    self.one_line_error(DataError, lambda: load_instance_images(folder, (32, 32, 1)),
                        folder, "no image file", "found nothing",
                        ".png/.jpg/.jpeg/.bmp/.gif/.webp")

  def test_a_folder_of_other_files_is_refused_and_they_are_named(self):
    folder = self.folder("texts")
    with open(os.path.join(folder, "notes.txt"), "w", encoding="utf-8") as stream:
      stream.write("a photo of sks dog\n")
    os.makedirs(os.path.join(folder, "more.png"))
    self.write(folder, ".hidden.png", noise((32, 32, 3)))
    self.one_line_error(DataError, lambda: load_instance_images(folder, (32, 32, 1)),
                        folder, "no image file", "found notes.txt)", ".webp")

  def test_a_text_file_named_png_is_refused_by_name(self):
    folder = self.folder("dog")
    self.write(folder, "a.png", noise((32, 32, 3)))
    with open(os.path.join(folder, "x.png"), "w", encoding="utf-8") as stream:
      stream.write("not an image\n")
    self.one_line_error(DataError, lambda: load_instance_images(folder, (32, 32, 3)),
                        os.path.join(folder, "x.png"), "cannot be read as an image",
                        "remove or replace it")

  def test_a_truncated_png_is_refused_by_name(self):
    folder = self.folder("dog")
    self.write(folder, "a.png", noise((32, 32, 3)))
    self.write(folder, "b.png", noise((64, 64, 3), 1))
    path = os.path.join(folder, "b.png")
    with open(path, "rb") as stream:
      data = stream.read()
    with open(path, "wb") as stream:
      stream.write(data[:len(data) // 2])
    message = self.one_line_error(
        DataError, lambda: load_instance_images(folder, (32, 32, 3)), path, "truncated",
        "remove or replace it")
    self.assertNotIn("a.png", message)

  def test_mixed_files_are_read_in_name_order_and_every_change_is_noted(self):
    folder = self.folder("shirt")
    gray = noise((32, 32))
    self.write(folder, "a.png", gray)
    self.write(folder, "b.png", noise((30, 40, 3), 1))
    rgba = np.concatenate([np.full((64, 64, 3), 200, np.uint8),
                           np.full((64, 64, 1), 255, np.uint8)], axis=-1)
    rgba[:, :32, 3] = 0
    self.write(folder, "c.png", rgba)
    self.write(folder, "d.bmp", np.stack([gray] * 3, axis=-1))
    frames = [Image.fromarray(np.full((32, 32), value, np.uint8)) for value in (10, 250)]
    frames[0].save(os.path.join(folder, "e.gif"), save_all=True, append_images=frames[1:])
    self.write(folder, "f.JPG", noise((48, 48, 3), 2), quality=95)
    self.write(folder, "g.webp", np.full((32, 32, 3), 90, np.uint8), lossless=True)
    self.write(folder, ".DS_Store.png", noise((8, 8)))
    with open(os.path.join(folder, "captions.txt"), "w", encoding="utf-8") as stream:
      stream.write("sks shirt\n")
    images, notes = load_instance_images(folder, (32, 32, 1))
    self.assertEqual((images.shape, images.dtype), ((7, 32, 32, 1), np.uint8))
    np.testing.assert_array_equal(images[0, ..., 0], gray)
    np.testing.assert_array_equal(images[3, ..., 0], gray)
    self.assertTrue(np.all(images[2, :, :12] == 0))
    self.assertTrue(np.all(images[2, :, 20:] == 200))
    self.assertTrue(np.all(images[4] == 10))
    self.assertTrue(np.all(images[6] == 90))
    self.assertEqual(notes, [
        "b.png: 40x30 center-cropped to 30x30 and resized to 32x32; colour converted to "
        "grayscale",
        "c.png: 64x64 resized to 32x32; transparency composited on gray level 0",
        "captions.txt: skipped, not a .png/.jpg/.jpeg/.bmp/.gif/.webp file",
        "e.gif: first of 2 frames used",
        "f.JPG: 48x48 resized to 32x32; colour converted to grayscale"])

  def test_center_crop_keeps_the_middle(self):
    folder = self.folder("wide")
    wide = np.full((30, 40), 255, np.uint8)
    wide[:, 5:35] = noise((30, 30))
    self.write(folder, "wide.png", wide)
    tall = np.full((41, 20), 255, np.uint8)
    tall[10:30] = 100
    self.write(folder, "tall.png", tall)
    images, notes = load_instance_images(folder, (30, 30, 1))
    self.assertTrue(np.all(images[0] == 100))
    self.assertTrue(np.array_equal(images[1, ..., 0], wide[:, 5:35]))
    self.assertEqual(notes, ["tall.png: 20x41 center-cropped to 20x20 and resized to 30x30",
                             "wide.png: 40x30 center-cropped to 30x30"])

  def test_channel_conversion(self):
    folder = self.folder("colours")
    gray = noise((8, 8))
    self.write(folder, "a.png", gray)
    colour = np.zeros((8, 8, 3), np.uint8)
    colour[..., 0] = 255
    self.write(folder, "b.png", colour)
    self.write(folder, "c.png", np.stack([gray] * 3, axis=-1))
    self.write(folder, "d.png", colour, mode="P")
    as_rgb, notes = load_instance_images(folder, (8, 8, 3))
    self.assertEqual(notes, [])
    np.testing.assert_array_equal(as_rgb[0], np.stack([gray] * 3, axis=-1))
    np.testing.assert_array_equal(as_rgb[1], colour)
    np.testing.assert_array_equal(as_rgb[3], colour)
    as_gray, notes = load_instance_images(folder, (8, 8, 1))
    np.testing.assert_array_equal(as_gray[0, ..., 0], gray)
    self.assertTrue(np.all(as_gray[1] == 76))
    np.testing.assert_array_equal(as_gray[2, ..., 0], gray)
    self.assertEqual(notes, ["b.png: colour converted to grayscale",
                             "d.png: colour converted to grayscale"])

  def test_transparency_background_exif_orientation_and_16_bit_gray(self):
    folder = self.folder("odd")
    la = np.zeros((8, 8, 2), np.uint8)
    la[..., 0], la[:4, :, 1] = 120, 255
    self.write(folder, "a.png", la)
    image = Image.fromarray(noise((10, 20, 3)))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(os.path.join(folder, "b.png"), exif=exif)
    self.write(folder, "c.png", np.array([[0, 257 * 100], [65535, 300]] * 10, np.uint16))
    images, notes = load_instance_images(folder, (20, 10, 1), background=255)
    self.assertTrue(np.all(images[0, :4] == 120) and np.all(images[0, 16:] == 255))
    self.assertEqual(images[1].shape, (20, 10, 1))
    self.assertEqual(notes[0], "a.png: 8x8 center-cropped to 4x8 and resized to 10x20; "
                               "transparency composited on gray level 255")
    self.assertEqual(notes[1], "b.png: colour converted to grayscale")
    np.testing.assert_array_equal(
        load_instance_images(folder, (20, 2, 1))[0][2, :2, :, 0], [[0, 100], [255, 1]])

  def test_bad_settings_are_config_errors(self):
    folder = self.folder("dog")
    for shape in ((32, 32), (32, 32, 2), (0, 32, 3)):
      self.one_line_error(ConfigError, lambda: load_instance_images(folder, shape),
                          "image_shape", str(shape))
    self.one_line_error(ConfigError,
                        lambda: load_instance_images(folder, (8, 8, 1), background=256),
                        "background", "256")


class SaveInstanceImagesTest(TempDirTest):

  def test_round_trip_is_bit_for_bit(self):
    root = self.folder()
    for channels in (1, 3):
      images = noise((5, 12, 16, channels), channels)
      folder = os.path.join(root, f"c{channels}", "instances")
      paths = save_instance_images(images, folder)
      self.assertEqual([os.path.basename(p) for p in paths],
                       ["000.png", "001.png", "002.png", "003.png", "004.png"])
      loaded, notes = load_instance_images(folder, (12, 16, channels))
      self.assertEqual(notes, [])
      np.testing.assert_array_equal(loaded, images)
      self.assertEqual(self.leftovers(os.path.dirname(folder)), [])

  def test_an_existing_folder_must_be_empty_or_hold_the_same_images(self):
    root = self.folder()
    folder = os.path.join(root, "dog")
    images = noise((2, 8, 8, 3))
    save_instance_images(images, folder)
    before = os.stat(os.path.join(folder, "000.png")).st_mtime_ns
    self.assertEqual(len(save_instance_images(images, folder)), 2)
    self.assertEqual(os.stat(os.path.join(folder, "000.png")).st_mtime_ns, before)
    self.one_line_error(ConfigError, lambda: save_instance_images(images[::-1], folder),
                        folder, "already holds other files")
    np.testing.assert_array_equal(load_instance_images(folder, (8, 8, 3))[0], images)
    empty = self.folder("empty")
    save_instance_images(images, empty)
    self.assertEqual(sorted(os.listdir(empty)), ["000.png", "001.png"])
    self.one_line_error(ConfigError, lambda: save_instance_images(
        images, os.path.join(folder, "000.png")), "000.png", "is a file")

  def test_bad_images_are_refused(self):
    folder = os.path.join(self.folder(), "dog")
    for images in (noise((2, 8, 8, 2)), noise((8, 8, 3)), np.zeros((0, 8, 8, 3), np.uint8),
                   np.zeros((2, 8, 8, 3), np.float32)):
      self.one_line_error(ConfigError, lambda: save_instance_images(images, folder),
                          "images", "expected uint8")
    self.assertFalse(os.path.exists(folder))

  def test_a_failing_write_leaves_nothing(self):
    root = self.folder()
    folder = os.path.join(root, "dog")
    real_save = Image.Image.save
    calls = []

    def save(image, path, *args, **kwargs):
      calls.append(path)
      if len(calls) == 3:
        with open(path, "wb") as stream:
          stream.write(b"\x89PNG half")
        raise OSError("disk full")
      return real_save(image, path, *args, **kwargs)

    with mock.patch.object(Image.Image, "save", autospec=True, side_effect=save):
      with self.assertRaises(OSError):
        save_instance_images(noise((4, 8, 8, 1)), folder)
    self.assertEqual(len(calls), 3)
    self.assertEqual(os.listdir(root), [])


class ImageGridTest(unittest.TestCase):

  def numbered(self, count, height=4, width=5, channels=(3,)):
    return np.stack([np.full((height, width) + channels, 10 * index + 1, np.uint8)
                     for index in range(count)])

  def test_shape_and_where_each_tile_goes(self):
    grid = image_grid(self.numbered(6), 2, 3, gap=2, fill=255)
    self.assertEqual((grid.shape, grid.dtype), ((10, 19, 3), np.uint8))
    for index in range(6):
      row, col = divmod(index, 3)
      top, left = row * 6, col * 7
      self.assertTrue(np.all(grid[top:top + 4, left:left + 5] == 10 * index + 1), index)
    self.assertTrue(np.all(grid[4:6] == 255))
    self.assertTrue(np.all(grid[:, 5:7] == 255) and np.all(grid[:, 12:14] == 255))
    self.assertEqual(image_grid(self.numbered(6, channels=()), 3, 2, gap=1).shape, (14, 11))
    np.testing.assert_array_equal(image_grid(self.numbered(2), 1, 2, gap=0)[:, 5:],
                                  self.numbered(2)[1])

  def test_a_pixel_lands_in_its_tile(self):
    images = np.zeros((6, 4, 5, 1), np.uint8)
    images[4, 2, 3] = 77
    grid = image_grid(images, 2, 3, gap=1, fill=0)
    self.assertEqual(list(zip(*np.nonzero(grid[..., 0]))), [(1 * 5 + 2, 1 * 6 + 3)])

  def test_bad_arguments_are_config_errors(self):
    for call, needle in (
        (lambda: image_grid(self.numbered(5), 2, 3), "5 images for 2 rows x 3 columns"),
        (lambda: image_grid(self.numbered(6).astype(np.float32), 2, 3), "expected uint8"),
        (lambda: image_grid(self.numbered(6, channels=(2,)), 2, 3), "C 1 or 3"),
        (lambda: image_grid(self.numbered(6), 2, 3, gap=-1), "gap -1")):
      with self.assertRaises(ConfigError) as caught:
        call()
      self.assertIn(needle, str(caught.exception))


class LabeledFiguresTest(TempDirTest):

  def read(self, path):
    with Image.open(path) as image:
      return np.asarray(image.convert("RGB"))

  def test_unlabeled_grid_holds_the_images_exactly_upscaled(self):
    folder = self.folder()
    images = noise((6, 8, 8, 1))
    path = save_labeled_grid(os.path.join(folder, "grid.png"), images, ["", ""], scale=3)
    png = self.read(path)
    expected = image_grid(np.repeat(np.repeat(images, 3, 1), 3, 2), 2, 3)
    pad = grids.PAD
    self.assertEqual(png.shape, (expected.shape[0] + 2 * pad, expected.shape[1] + 2 * pad, 3))
    region = png[pad:-pad, pad:-pad]
    np.testing.assert_array_equal(region, np.repeat(expected, 3, axis=-1))
    self.assertEqual(self.leftovers(folder), [])

  def test_labels_are_wrapped_left_of_their_rows(self):
    folder = self.folder()
    long_prompt = ("a photo of sks shirt in the style of a very long prompt that keeps "
                   "going about $5 dresses and trousers")
    texts = []
    real_text = Figure.text

    def text(figure, x, y, s, *args, **kwargs):
      texts.append((s, kwargs.get("ha")))
      return real_text(figure, x, y, s, *args, **kwargs)

    with mock.patch.object(Figure, "text", autospec=True, side_effect=text):
      path = save_labeled_grid(os.path.join(folder, "sub", "grid.png"),
                               noise((4, 32, 32, 3)), ["a photo of a shirt", long_prompt],
                               col_labels=["seed 0", "seed 1"], title="DreamBooth")
    self.assertEqual(texts[0], ("a photo of a shirt", "right"))
    lines = texts[1][0].split("\n")
    self.assertGreater(len(lines), 1)
    self.assertEqual(" ".join(lines), long_prompt)
    measure = grids._Measure()
    self.assertTrue(all(measure.width(line) <= grids.ROW_LABEL_WIDTH for line in lines))
    self.assertEqual([t for t, _ in texts[2:]], ["seed 0", "seed 1", "DreamBooth"])
    png = self.read(path)
    self.assertGreater(png.shape[1], 2 * 32 * 4 + grids.ROW_LABEL_WIDTH // 2)
    self.assertEqual(self.leftovers(os.path.dirname(path)), [])

  def test_a_title_wider_than_the_grid_widens_the_figure(self):
    folder = self.folder()
    image = noise((1, 8, 8, 3))
    path = save_labeled_grid(os.path.join(folder, "one.png"), image, [""], scale=2,
                             title="one sample of the small model, 30 minutes, guidance 3")
    png = self.read(path)
    self.assertGreater(png.shape[1], 16 + 2 * grids.PAD)
    left = (png.shape[1] - 16) // 2
    np.testing.assert_array_equal(png[-grids.PAD - 16:-grids.PAD, left:left + 16],
                                  np.repeat(np.repeat(image[0], 2, 0), 2, 1))

  def test_labels_that_do_not_fit_end_in_dots(self):
    measure = grids._Measure()
    lines = measure.wrap("word " * 200, 100, 3)
    self.assertEqual(len(lines), 3)
    self.assertTrue(lines[-1].endswith("..."))
    self.assertTrue(all(measure.width(line) <= 100 for line in lines))
    broken = measure.wrap("x" * 100, 50, 30)
    self.assertEqual("".join(broken), "x" * 100)
    self.assertTrue(all(measure.width(line) <= 50 for line in broken))
    self.assertEqual(measure.wrap("", 50, 2), [])

  def test_side_by_side_panels_are_exact_and_labeled(self):
    folder = self.folder()
    gray = image_grid(noise((4, 6, 6, 1)), 2, 2)
    colour = noise((10, 7, 3), 1)
    path = save_side_by_side(os.path.join(folder, "compare.png"),
                             {"with prior preservation": gray, "without": colour},
                             title="class prompt after fine-tuning", scale=4)
    png = self.read(path)
    pad, gap = grids.PAD, grids.PANEL_GAP
    first = np.repeat(np.repeat(gray, 4, 0), 4, 1)
    second = np.repeat(np.repeat(colour, 4, 0), 4, 1)
    content = first.shape[1] + gap + second.shape[1] + 2 * pad
    self.assertGreater(png.shape[1], content)
    top, left = png.shape[0] - pad - first.shape[0], (png.shape[1] - content) // 2 + pad
    np.testing.assert_array_equal(png[top:top + first.shape[0], left:left + first.shape[1]],
                                  np.repeat(first, 3, axis=-1))
    left += first.shape[1] + gap
    np.testing.assert_array_equal(
        png[top:top + second.shape[0], left:left + second.shape[1]], second)

  def test_bad_figure_arguments_are_config_errors(self):
    path = os.path.join(self.folder(), "grid.png")
    images = noise((6, 8, 8, 3))
    for call, needle in (
        (lambda: save_labeled_grid(path, images, ["a"] * 4), "6 images for 4 row labels"),
        (lambda: save_labeled_grid(path, images, ["a", "b"], col_labels=["x"]),
         "1 column labels, expected 3"),
        (lambda: save_labeled_grid(path, images, ["a", "b"], scale=0), "scale: got 0"),
        (lambda: save_side_by_side(path, {}), "no panels"),
        (lambda: save_side_by_side(path, {"a": images}), "panel 'a'")):
      with self.assertRaises(ConfigError) as caught:
        call()
      self.assertIn(needle, str(caught.exception))
    self.assertFalse(os.path.exists(path))

  def test_a_failing_write_leaves_the_old_file_and_no_temp_file(self):
    folder = self.folder()
    path = os.path.join(folder, "grid.png")
    with open(path, "wb") as stream:
      stream.write(b"old")

    def savefig(figure, temp, **kwargs):
      with open(temp, "wb") as stream:
        stream.write(b"\x89PNG half")
      raise OSError("disk full")

    for call in (lambda: save_labeled_grid(path, noise((2, 8, 8, 1)), ["a"]),
                 lambda: save_side_by_side(path, {"a": noise((8, 8))})):
      with mock.patch.object(Figure, "savefig", autospec=True, side_effect=savefig):
        with self.assertRaises(OSError):
          call()
      self.assertEqual(os.listdir(folder), ["grid.png"])
      with open(path, "rb") as stream:
        self.assertEqual(stream.read(), b"old")


if __name__ == "__main__":
  unittest.main()
