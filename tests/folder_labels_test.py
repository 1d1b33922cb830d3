"""Labelled image folders, transparency over a background, the decode cache, class balance."""

import gzip
import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from tfgan_stable import config as config_lib
from tfgan_stable import data
from tfgan_stable.data import sources
from tfgan_stable.errors import ConfigError


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test its own cache folder, beside (not inside) its data folder."""
    monkeypatch.setenv("TFGAN_STABLE_CACHE", str(tmp_path / "cache"))


def write_png(path, pixels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = np.asarray(pixels, np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    with open(path, "wb") as f:
        f.write(tf.io.encode_png(pixels).numpy())


def solid(value, side=4, channels=3):
    return np.full((side, side, channels), value, np.uint8)


def everything(examples):
    images, labels = next(iter(examples.dataset.batch(10_000)))
    return images.numpy(), labels.numpy()


def load(folder, **kwargs):
    kwargs.setdefault("resolution", 4)
    return data.load_examples(f"folder:{folder}", **kwargs)


@pytest.fixture
def classes(tmp_path):
    """Three classes (one with nested folders, one with non-ASCII names), an empty
    class folder and images at the root: each image a grey value that names its file."""
    root = tmp_path / "data"
    layout = {
        "b_cats": ["c1.png", "deep/er/c2.png", "deep/c3.png"],
        "a_dogs": ["d1.png"],
        "ñandú_鳥": ["pájaro.png", "鳥/二.png"],
    }
    values = {}
    for index, (name, files) in enumerate(sorted(layout.items())):
        for number, relative in enumerate(files):
            value = 40 * index + 10 * number + 5
            write_png(str(root / name / relative), solid(value))
            values[os.path.join(name, relative)] = value
    (root / "empty" / "nothing_here").mkdir(parents=True)
    (root / "empty" / "notes.txt").write_text("not an image")
    write_png(str(root / "loose.png"), solid(250))
    write_png(str(root / "loose2.png"), solid(251))
    return root, values


def test_subfolders_are_classes_in_sorted_order_at_any_depth(classes, capsys):
    root, values = classes
    examples = load(root, labels="inferred")
    assert examples.class_names == ("a_dogs", "b_cats", "ñandú_鳥")  # as sorted() sorts str
    assert examples.num_classes == 3 and examples.class_counts == (1, 3, 2)
    assert examples.num_examples == 6 and examples.shape == (4, 4, 3)
    images, labels = everything(examples)
    assert labels.dtype == np.int32 and images.shape == (6, 4, 4, 3)
    # every image's label is the class folder its file lies below
    by_value = {value: path.split(os.sep)[0] for path, value in values.items()}
    for image, label in zip(images, labels):
        value = int(round((image[0, 0, 0] + 1) * 127.5))
        assert examples.class_names[label] == by_value[value]
    out = capsys.readouterr().out
    assert (f"data.name='folder:{root}': 3 classes from its subfolders: a_dogs 1, "
            "b_cats 3, ñandú_鳥 2\n") in out
    assert out.count("classes from its subfolders") == 1
    assert "leaving out the 2 image files directly in the folder" in out
    assert "leaving out 1 class folder without images: 'empty'" in out


def test_unlabelled_folder_keeps_every_image_and_yields_images_only(classes):
    root, values = classes
    examples = load(root)
    assert examples.num_classes == 0 and examples.num_examples == len(values) + 2
    assert isinstance(examples.dataset.element_spec, tf.TensorSpec)


def test_one_class_is_allowed(tmp_path, capsys):
    root = tmp_path / "data"
    for i in range(3):
        write_png(str(root / "only" / f"{i}.png"), solid(i))
    examples = load(root, labels="inferred")
    assert examples.class_names == ("only",) and examples.class_counts == (3,)
    assert list(everything(examples)[1]) == [0, 0, 0]
    assert "1 class from its subfolders: only 3" in capsys.readouterr().out


def test_no_class_folder_with_images_is_an_error_naming_data_labels(tmp_path):
    root = tmp_path / "data"
    write_png(str(root / "flat.png"), solid(0))
    (root / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"data.labels='inferred': .* has no subfolder "
                                          r"holding images"):
        load(root, labels="inferred")


@pytest.mark.parametrize("labels", ["yes", "folders", None])
def test_unknown_labels_value_lists_the_valid_ones(classes, labels):
    with pytest.raises(ConfigError, match=r"data.labels must be one of \['none', 'inferred'\]"):
        load(classes[0], labels=labels)


def rgba_image():
    """Four pixels: transparent with a hidden colour, opaque red, half-transparent blue,
    and transparent black."""
    return np.array([[[10, 200, 30, 0], [255, 0, 0, 255]],
                     [[0, 0, 255, 128], [0, 0, 0, 0]]], np.uint8)


def composite(pixels, background):
    colour, alpha = pixels[..., :-1] / 255.0, pixels[..., -1:] / 255.0
    return (colour * alpha + np.asarray(background) / 255.0 * (1 - alpha)) * 2 - 1


@pytest.mark.parametrize("background, rgb", [
    ("white", (255, 255, 255)), ("black", (0, 0, 0)), ((255, 0, 128), (255, 0, 128)),
    ([20, 40, 60], (20, 40, 60))])
def test_alpha_is_composited_over_the_background(tmp_path, background, rgb):
    root = tmp_path / "data"
    write_png(str(root / "a.png"), rgba_image())
    image = next(iter(load(root, resolution=2, background=background).dataset)).numpy()
    expected = composite(rgba_image(), rgb)
    fill = np.asarray(rgb) / 255.0 * 2 - 1
    np.testing.assert_allclose(image[0, 0], fill, atol=1e-6)  # hidden colour: gone
    np.testing.assert_allclose(image[1, 1], fill, atol=1e-6)
    np.testing.assert_allclose(image[0, 1], [1, -1, -1], atol=1e-6)  # opaque: itself
    np.testing.assert_allclose(image[1, 0], expected[1, 0], atol=2 / 255)  # half: a blend


def test_gray_plus_alpha_is_composited_in_gray_and_in_colour(tmp_path):
    root = tmp_path / "data"
    write_png(str(root / "la.png"), np.array([[[77, 0], [200, 255]]], np.uint8).repeat(2, 0))
    gray = next(iter(load(root, resolution=2).dataset)).numpy()  # auto: 1 channel
    assert gray.shape == (2, 2, 1)
    np.testing.assert_allclose(gray[:, 0, 0], 1.0, atol=1e-6)  # white, exactly
    np.testing.assert_allclose(gray[:, 1, 0], 200 / 127.5 - 1, atol=1e-6)
    colour = next(iter(load(root, resolution=2, channels=3, background=(255, 0, 128))
                       .dataset)).numpy()
    np.testing.assert_allclose(colour[0, 0], [1, -1, 128 / 127.5 - 1], atol=1e-6)
    dark = next(iter(load(root, resolution=2, background="black").dataset)).numpy()
    np.testing.assert_allclose(dark[:, 0, 0], -1.0, atol=1e-6)


def test_npy_with_alpha_is_composited_too(tmp_path):
    np.save(tmp_path / "rgba.npy", rgba_image()[None])
    image = next(iter(data.load_examples(f"npy:{tmp_path / 'rgba.npy'}", resolution=2,
                                         background="black").dataset)).numpy()
    np.testing.assert_allclose(image, composite(rgba_image(), (0, 0, 0)), atol=1e-6)
    np.save(tmp_path / "rgb.npy", rgba_image()[None, ..., :3])  # no alpha: as before
    image = next(iter(data.load_examples(f"npy:{tmp_path / 'rgb.npy'}", resolution=2,
                                         background="black").dataset)).numpy()
    np.testing.assert_allclose(image, rgba_image()[..., :3] / 127.5 - 1, atol=1e-6)


@pytest.mark.parametrize("background", ["grey", [1, 2], [0, 0, 256], [True, 0, 0], 255])
def test_bad_backgrounds_name_data_background(classes, background):
    with pytest.raises(ConfigError, match=r"data.background must be 'white', 'black' or"):
        load(classes[0], background=background)


def test_decoded_images_are_cached_and_a_changed_file_decoded_again(classes, monkeypatch):
    root, _ = classes
    first_images, first_labels = everything(load(root, labels="inferred"))
    cached = os.listdir(os.path.join(os.environ["TFGAN_STABLE_CACHE"], "decoded_images"))
    assert len(cached) == 1 and cached[0].endswith(".npy")

    def refuse(path):
        raise AssertionError(f"decoded {path} again")

    monkeypatch.setattr(sources, "_decode_image", refuse)
    examples = load(root, labels="inferred")
    images, labels = everything(examples)
    np.testing.assert_array_equal(images, first_images)
    np.testing.assert_array_equal(labels, first_labels)
    # held as one array: make_dataset reads it as one tensor
    assert next(iter(data.make_dataset(examples, 2)))[0].shape == (2, 4, 4, 3)

    changed = root / "a_dogs" / "d1.png"
    write_png(str(changed), solid(123))
    os.utime(changed, ns=(1, 1))  # a different stamp whatever the clock's resolution
    calls = []
    monkeypatch.setattr(sources, "_decode_image",
                        lambda path: calls.append(path) or sources.tf.io.decode_image(
                            tf.io.read_file(path), expand_animations=False))
    images, labels = everything(load(root, labels="inferred"))
    assert calls  # decoded again
    assert images[labels == 0][0, 0, 0, 0] == pytest.approx(123 / 127.5 - 1, abs=1e-6)
    assert len(os.listdir(os.path.join(os.environ["TFGAN_STABLE_CACHE"],
                                       "decoded_images"))) == 1  # the old one removed


def test_settings_are_part_of_the_cache_key(classes):
    root, _ = classes
    load(root, labels="inferred")
    gray = load(root, labels="inferred", channels=1)
    assert everything(gray)[0].shape == (6, 4, 4, 1)
    assert everything(load(root, labels="inferred", resolution=2))[0].shape == (6, 2, 2, 3)
    assert len(os.listdir(os.path.join(os.environ["TFGAN_STABLE_CACHE"],
                                       "decoded_images"))) == 3


def test_an_unwritable_cache_only_costs_time(classes, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("TFGAN_STABLE_CACHE", str(blocker))
    images, labels = everything(load(classes[0], labels="inferred"))
    assert images.shape == (6, 4, 4, 3) and sorted(labels) == [0, 1, 1, 1, 2, 2]


def test_too_large_to_hold_decoded_streams_as_before(classes, monkeypatch, capsys):
    from tfgan_stable import memory

    root, _ = classes
    held_images, held_labels = everything(load(root, labels="inferred"))

    def refuse(needed, what, available=None):
        raise ConfigError(f"{what} needs too much")

    monkeypatch.setattr(memory, "check_bytes", refuse)
    examples = load(root, labels="inferred")
    assert "too large to hold decoded in memory" in capsys.readouterr().out
    images, labels = everything(examples)
    np.testing.assert_array_equal(labels, held_labels)
    np.testing.assert_allclose(images, held_images, atol=1e-6)  # solid images: no rounding


@pytest.fixture
def unequal(tmp_path):
    """Classes of 2, 6 and 12 images, each class one solid colour."""
    root = tmp_path / "data"
    for label, count in enumerate((2, 6, 12)):
        for i in range(count):
            write_png(str(root / f"class{label}" / f"{i}.png"), solid(100 * label + i))
    return load(root, labels="inferred")


def test_class_balanced_reads_every_class_equally_per_pass(unequal):
    assert unequal.class_counts == (2, 6, 12)
    elements = iter(data.make_dataset(unequal, 4, seed=3, class_balanced=True))
    seen = [next(elements) for _ in range(9)]  # one pass: 3 classes x 12 = 36 examples
    images = np.concatenate([element[0].numpy() for element in seen])
    labels = np.concatenate([element[1].numpy() for element in seen])
    assert np.bincount(labels).tolist() == [12, 12, 12]
    values = np.round((images[:, 0, 0, 0] + 1) * 127.5).astype(int)
    np.testing.assert_array_equal(values // 100, labels)  # labels stay with their images
    assert sorted(np.bincount(values[labels == 0] % 100)) == [6, 6]  # cycled evenly
    plain = iter(data.make_dataset(unequal, 4, seed=3))
    counts = np.bincount(np.concatenate([next(plain)[1].numpy() for _ in range(5)]))
    assert counts.tolist() == [2, 6, 12]  # without it: as the data holds them


@pytest.mark.parametrize("balanced", [False, True])
def test_resume_with_labels_is_exact(unequal, balanced):
    whole = data.make_dataset(unequal, 3, n_critic=2, seed=5, class_balanced=balanced)
    resumed = data.make_dataset(unequal, 3, n_critic=2, seed=5, start=7,
                                class_balanced=balanced)
    expected = list(whole.skip(7).take(10).as_numpy_iterator())
    got = list(resumed.take(10).as_numpy_iterator())
    for (images, labels), (want_images, want_labels) in zip(got, expected):
        assert images.shape == (3, 2, 4, 4, 3) and labels.shape == (3, 2)  # [batch, n_critic]
        np.testing.assert_array_equal(images, want_images)
        np.testing.assert_array_equal(labels, want_labels)
    values = np.round((got[0][0][..., 0, 0, 0] + 1) * 127.5).astype(int)
    np.testing.assert_array_equal(values // 100, got[0][1])


def test_class_balanced_needs_labels_held_in_memory(unequal, monkeypatch):
    from tfgan_stable.data import pipeline

    unlabelled = data.load_examples("digits", resolution=8)
    with pytest.raises(ConfigError, match=r"class_balanced=True .* needs labelled examples"):
        data.make_dataset(unlabelled, 4, class_balanced=True)
    monkeypatch.setattr(pipeline, "IN_MEMORY_BYTES", 100)
    with pytest.raises(ConfigError, match=r"class_balanced=True .* needs examples held in "
                                          r"memory .* is streamed"):
        data.make_dataset(unequal, 4, class_balanced=True)


def test_balanced_table_cycles_every_class_up_to_the_largest():
    table = data.pipeline.balanced_table([1, 0, 1, 1, 0, 1, 1])
    assert table.tolist() == [1, 4, 1, 4, 1, 0, 2, 3, 5, 6]


def test_digits_labels_are_the_digits():
    from sklearn.datasets import load_digits

    examples = data.load_examples("digits", resolution=8, labels="inferred")
    assert examples.class_names == tuple("0123456789") and examples.num_classes == 10
    images, labels = everything(examples)
    np.testing.assert_array_equal(labels, load_digits().target)
    assert sum(examples.class_counts) == 1797 and images.shape == (1797, 8, 8, 1)
    assert data.sample_examples(examples, 5).shape == (5, 8, 8, 1)  # images only


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_labels_from_the_idx_labels_file(tmp_path):
    write_idx(str(tmp_path / "train-images-idx3-ubyte.gz"), np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(FileNotFoundError, match=r"no train-labels-idx1-ubyte\[.gz\] file, "
                                                r"which data.labels=inferred reads"):
        data.load_examples("fashion_mnist", path=str(tmp_path), resolution=8,
                           labels="inferred")
    write_idx(str(tmp_path / "train-labels-idx1-ubyte.gz"), np.array([9, 0, 3, 3]))
    examples = data.load_examples("fashion_mnist", path=str(tmp_path), resolution=8,
                                  labels="inferred")
    assert examples.class_names[:2] == ("T-shirt/top", "Trouser")
    assert examples.class_names[9] == "Ankle boot"
    assert everything(examples)[1].tolist() == [9, 0, 3, 3]


def test_tfds_labels_from_its_class_label_feature():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=5):
        examples = data.load_examples("tfds:fashion_mnist", resolution=8, labels="inferred")
        images, labels = everything(examples)
    assert examples.class_names[0] == "T-shirt/top" and examples.num_classes == 10
    assert images.shape == (5, 8, 8, 1) and labels.dtype == np.int32
    assert ((labels >= 0) & (labels < 10)).all()


@pytest.mark.parametrize("name, words", [
    ("ring8", "its points have no classes"),
    ("grid25", "its points have no classes"),
    ("stacked_digits", "1,000 modes"),
    ("npy:/some/file.npy", "use data.name: folder:<path>"),
])
def test_sources_without_labels_say_so(name, words):
    with pytest.raises(ConfigError, match=rf"labels are not available for data.name="
                                          rf"'{name}' \(.*{words}.*\); use data.labels: none"):
        data.load_examples(name, labels="inferred")


@pytest.mark.parametrize("raw, message", [
    ({"data": {"labels": "yes"}}, r"data.labels must be one of \['none', 'inferred'\], "
                                  r"got 'yes'"),
    ({"data": {"background": "grey"}}, r"data.background must be .* got 'grey'"),
    ({"data": {"background": [0, 0, 300]}}, r"data.background must be .* got \(0, 0, 300\)"),
    ({"data": {"class_balanced": "yes"}}, r"data.class_balanced must be of type bool"),
    ({"data": {"class_balanced": True}}, r"data.class_balanced=true .* set data.labels: "
                                         r"inferred"),
    ({"data": {"name": "ring8", "labels": "inferred"}},
     r"labels are not available for data.name='ring8'"),
])
def test_config_checks_the_new_data_keys(raw, message):
    with pytest.raises(ValueError, match=message):
        config_lib.from_dict(raw)


def test_config_takes_labels_background_and_balance():
    config = config_lib.from_dict({"data": {"name": "folder:/x", "labels": "inferred",
                                            "background": [10, 20, 30],
                                            "class_balanced": True}})
    assert config.data.background == (10, 20, 30)
    assert config.to_dict()["data"]["background"] == [10, 20, 30]
    assert config_lib.from_dict(config.to_dict()).data == config.data
