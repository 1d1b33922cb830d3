"""Data sources and the training pipeline, on data that ships or is generated."""

import gzip
import struct

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_stable import data


def first(examples, count=None):
    batch = next(iter(examples.dataset.batch(count or 10_000)))
    return batch.numpy()


def test_digits_resized_to_resolution_in_model_range():
    examples = data.load_examples("digits", resolution=16)
    assert (examples.kind, examples.shape, examples.num_examples) == ("image", (16, 16, 1), 1797)
    images = first(examples)
    assert images.shape == (1797, 16, 16, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    assert images.min() == pytest.approx(-1.0) and images.max() > 0.9


def test_ring8_has_eight_distinct_modes_at_2pi_k_over_8():
    centers = data.mixture_centers("ring8")
    assert len(np.unique(np.round(centers, 6), axis=0)) == 8
    np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 2.0, rtol=1e-6)
    np.testing.assert_allclose(centers[2], [0.0, 2.0], atol=1e-6)  # angle pi/2
    points = data.sample_mixture("ring8", 4000, seed=0)
    nearest = np.linalg.norm(points[:, None] - centers[None], axis=-1).min(1)
    assert nearest.std() == pytest.approx(0.02 * np.sqrt(2 - np.pi / 2), rel=0.1)


def test_ring_and_grid_centres_for_any_count():
    np.testing.assert_allclose(data.ring_centers(4, 3.0),
                               [[3, 0], [0, 3], [-3, 0], [0, -3]], atol=1e-6)
    np.testing.assert_array_equal(data.grid_centers(2, 1.5),
                                  [[-0.75, -0.75], [-0.75, 0.75], [0.75, -0.75], [0.75, 0.75]])
    assert data.grid_centers(6, 1.0).shape == (36, 2)


def test_gaussian_mixture_draws_every_mode_with_its_spread():
    centers = data.grid_centers(3, 10.0)
    points = data.gaussian_mixture(centers, 0.5, 9000, seed=4)
    assert points.dtype == np.float32 and points.shape == (9000, 2)
    distances = np.linalg.norm(points[:, None] - centers[None], axis=-1)
    counts = np.bincount(distances.argmin(1), minlength=9)
    assert counts.min() > 850 and counts.max() < 1150  # equal weights
    offsets = points - centers[distances.argmin(1)]
    np.testing.assert_allclose(offsets.std(0), [0.5, 0.5], rtol=0.05)
    np.testing.assert_array_equal(points, data.gaussian_mixture(centers, 0.5, 9000, seed=4))


def test_grid25_centres_and_spread():
    centers = data.mixture_centers("grid25")
    assert centers.shape == (25, 2)
    assert set(np.unique(centers)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    examples = data.load_examples("grid25", num_samples=5000, seed=1)
    assert (examples.kind, examples.shape) == ("vector", (2,))
    points = first(examples)
    modes = np.linalg.norm(points[:, None] - centers[None], axis=-1).argmin(1)
    assert len(np.unique(modes)) == 25


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_from_idx_files(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    write_idx(str(tmp_path / "train-images-idx3-ubyte.gz"), images)
    np.testing.assert_array_equal(data.read_idx(str(tmp_path / "train-images-idx3-ubyte.gz")),
                                  images)
    examples = data.load_examples("fashion_mnist", path=str(tmp_path), resolution=32)
    assert examples.shape == (32, 32, 1) and examples.num_examples == 5
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no train-images-idx3-ubyte"):
        data.load_examples("fashion_mnist", path=str(tmp_path / "empty"), resolution=32)


def test_folder_of_images(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(
            tmp_path / f"img{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    examples = data.load_examples(f"folder:{tmp_path}", resolution=8)
    assert examples.shape == (8, 8, 3) and examples.num_examples == 3
    images = first(examples)
    assert images.shape == (3, 8, 8, 3) and images.min() >= -1 and images.max() <= 1


def test_npy_vectors_and_images(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    np.save(tmp_path / "v.npy", vectors)
    examples = data.load_examples(f"npy:{tmp_path / 'v.npy'}")
    assert (examples.kind, examples.shape) == ("vector", (3,))
    np.testing.assert_allclose(first(examples), vectors)  # data units, untouched
    np.save(tmp_path / "i.npy", np.full((4, 8, 8), 255, np.uint8))
    images = first(data.load_examples(f"npy:{tmp_path / 'i.npy'}", resolution=4))
    assert images.shape == (4, 4, 4, 1)
    np.testing.assert_allclose(images, 1.0)
    np.save(tmp_path / "bad.npy", np.full((4, 8, 8), 3.0, np.float32))
    with pytest.raises(ValueError, match=r"float images must lie in \[0, 1\]"):
        data.load_examples(f"npy:{tmp_path / 'bad.npy'}", resolution=4)


@pytest.mark.parametrize("name, error, message", [
    ("mnist3d", ValueError, r"unknown data.name 'mnist3d'; valid: \['digits'"),
    ("folder:/no/such/folder", FileNotFoundError, r"data.name='folder:/no/such/folder': no such"),
    ("npy:/no/such.npy", FileNotFoundError, r"data.name='npy:/no/such.npy': no such file"),
    ("fashion_mnist", FileNotFoundError, r"data.path='/no/such/dir' does not exist"),
    ("npy:", ValueError, r"needs a value after 'npy:'"),
])
def test_bad_sources_raise_named_errors(name, error, message):
    with pytest.raises(error, match=message):
        data.load_examples(name, path="/no/such/dir", resolution=8)


def test_empty_sources_raise(tmp_path):
    with pytest.raises(ValueError, match="holds no image files"):
        data.load_examples(f"folder:{tmp_path}", resolution=8)
    np.save(tmp_path / "empty.npy", np.zeros((0, 2), np.float32))
    with pytest.raises(ValueError, match="has no examples"):
        data.load_examples(f"npy:{tmp_path / 'empty.npy'}")


def test_any_resolution_loads_and_a_non_positive_one_is_refused():
    assert data.load_examples("digits", resolution=24).shape == (24, 24, 1)
    with pytest.raises(ValueError, match=r"resolution must be an int >= 1. "
                                         r"Received: resolution=-4"):
        data.load_examples("digits", resolution=-4)


def test_pipeline_groups_n_critic_fresh_batches():
    examples = data.Examples(tf.data.Dataset.range(100).map(lambda i: tf.cast([i], tf.float32)),
                             "vector", (1,), 100, "range")
    element = next(iter(data.make_dataset(examples, batch_size=4, n_critic=5, seed=0)))
    assert element.shape == (4, 5, 1)  # [batch, n_critic, ...]: batch first for tf.distribute
    values = element.numpy().ravel()
    assert len(np.unique(values)) == 20  # 5 batches, no example repeated
    plain = next(iter(data.make_dataset(examples, batch_size=4, n_critic=1, seed=0)))
    assert plain.shape == (4, 1)
    with pytest.raises(ValueError, match=r"batch_size must be <= the 100 examples of the data. "
                                         r"Received: batch_size=200"):
        data.make_dataset(examples, batch_size=200)
    with pytest.raises(ValueError, match=r"batch_size must be an int >= 1. Received: batch_size=0"):
        data.make_dataset(examples, batch_size=0)


def test_tfds_source_runs_through_tensorflow_datasets():
    """The real TFDS code path, fed by tfds' own offline mock instead of a download."""
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        examples = data.load_examples("tfds:fashion_mnist", resolution=8)
        images = next(iter(examples.dataset.batch(10))).numpy()
    assert (examples.kind, examples.shape) == ("image", (8, 8, 1))
    assert images.shape == (6, 8, 8, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0


def test_errors_are_config_errors_the_binaries_report_as_user_errors():
    from tfgan_stable.errors import ConfigError, MissingPathError

    with pytest.raises(ConfigError):
        data.load_examples("digitz")
    with pytest.raises(MissingPathError):
        data.load_examples("npy:/no/such.npy")


def test_every_folder_image_is_decoded_up_front_and_a_bad_one_named(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    assert data.scan_images(sorted(str(p) for p in tmp_path.iterdir())) == [(8, 8, 1)] * 5
    full = (tmp_path / "3.png").read_bytes()
    (tmp_path / "3.png").write_bytes(full[:len(full) // 2])
    with pytest.raises(ValueError, match=r"image file '.*3.png' cannot be decoded: \S+"):
        data.load_examples(f"folder:{tmp_path}", resolution=8)


@pytest.mark.parametrize("channels, expected", [("auto", 1), (1, 1), (3, 3)])
def test_channels_are_converted_to_the_configured_count(channels, expected):
    examples = data.load_examples("digits", resolution=8, channels=channels)
    images = first(examples, 4)
    assert examples.shape == (8, 8, expected) and images.shape == (4, 8, 8, expected)
    if expected == 3:  # gray repeated into R, G and B
        np.testing.assert_allclose(images[..., 0], images[..., 2])


def test_rgb_and_rgba_become_gray_by_luminance_without_alpha():
    rgba = tf.constant([[[[1.0, 0.0, 0.0, 0.5]]]])  # one red pixel, half transparent
    gray = data.sources._convert_channels(rgba[0], 1)
    np.testing.assert_allclose(gray.numpy().ravel(), [0.2989], atol=1e-3)
    rgb = data.sources._convert_channels(tf.constant([[[0.25]]]), 3)
    np.testing.assert_allclose(rgb.numpy().ravel(), [0.25] * 3)


def test_a_large_resolution_is_resized_one_image_at_a_time():
    examples = data.load_examples("digits", resolution=2048)
    # 1,797 images at 2048x2048 would be 30 GB resized at once; one is 16 MB
    assert examples.shape == (2048, 2048, 1) and examples.num_examples == 1797
    image = next(iter(examples.dataset)).numpy()
    assert image.shape == (2048, 2048, 1) and -1 <= image.min() <= image.max() <= 1


def test_npy_non_finite_values_are_refused_with_count_and_first_example(tmp_path):
    vectors = np.zeros((10, 2), np.float32)
    vectors[4, 1] = np.inf
    np.save(tmp_path / "v.npy", vectors)
    with pytest.raises(ValueError, match=r"1 values are NaN or infinite, the first in example 4"):
        data.load_examples(f"npy:{tmp_path / 'v.npy'}")


def test_memory_estimate_refuses_what_does_not_fit():
    import tfgan_stable as tg
    from tfgan_stable import memory
    from tfgan_stable.errors import ConfigError

    generator = tg.build_dcgan_generator(8, 16, 1, filters=8)
    discriminator = tg.build_dcgan_discriminator(16, 1, filters=8)
    small = memory.train_step_bytes(generator, discriminator, 8, 8, (16, 16, 1))
    large = memory.train_step_bytes(generator, discriminator, 64, 8, (16, 16, 1))
    assert 0 < small < large < 8 * small
    assert memory.check_fits(generator, discriminator, 8, 8, (16, 16, 1), "x",
                             available=10 * small) == small
    with pytest.raises(ConfigError, match=r"batch 64 needs about .* [GM]iB per train step"):
        memory.check_fits(generator, discriminator, 64, 8, (16, 16, 1), "batch 64",
                          available=small)


def test_folder_scans_are_cached_and_only_changed_files_decoded_again(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    files = sorted(str(p) for p in tmp_path.glob("*.png"))
    cache = str(tmp_path / "cache" / "scan.json")
    assert data.scan_images(files, cache) == [(8, 8, 1)] * 4
    decoded = []
    real_header = data.sources._image_header
    monkeypatch.setattr(data.sources, "_image_header", lambda path: decoded.append(path)
                        or real_header(path))
    assert data.scan_images(files, cache) == [(8, 8, 1)] * 4 and decoded == []
    Image.fromarray(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)).save(files[2])
    assert data.scan_images(files, cache)[2] == (8, 12, 3) and decoded == [files[2]]
