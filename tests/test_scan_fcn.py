"""Fully convolutional conversion: same outputs as the tile classifier, same grid as crops."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from mammo_lib.scan.fcn import (
    abnormal_probability,
    classifier_abnormal_probability,
    probability_map,
    scan_score,
    to_fully_convolutional,
)
from mammo_lib.scan.sliding import compare_maps, sliding_window_map

TILE = 37


def _randomise_bn(model: keras.Model, rng: np.random.Generator) -> None:
    """Give every batch normalisation non-trivial statistics, so copying them is tested."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape).astype("float32"),
                    rng.normal(0, 0.2, beta.shape).astype("float32"),
                    rng.normal(0, 0.2, mean.shape).astype("float32"),
                    rng.uniform(0.5, 2.0, var.shape).astype("float32"),
                ]
            )


def vgg_like(padding: str, n_classes: int = 2, seed: int = 0, channels: int = 1) -> keras.Model:
    """A small model shaped like the study's 1.0.0.35: conv-BN-ReLU, pools, Flatten, FC head."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((TILE, TILE, channels))
    x = layers.Conv2D(8, 3, strides=2, padding=padding, use_bias=False)(inp)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.MaxPooling2D(3, 2, padding=padding)(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Conv2D(12, 3, padding=padding)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.MaxPooling2D(2, 2, padding=padding)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(16, name="fc1")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(16, name="fc2")(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Dense(n_classes, name="logits")(x)
    model = keras.Model(inp, x)
    _randomise_bn(model, np.random.default_rng(seed))
    return model


def inception_like(padding: str, seed: int = 0) -> keras.Model:
    """Branching trunk with a global-average-pooling head and a softmax output."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((TILE, TILE, 3))
    x = layers.Conv2D(8, 3, strides=2, padding=padding, activation="relu")(inp)
    a = layers.Conv2D(6, 1, padding=padding)(x)
    b = layers.Conv2D(6, 3, padding=padding)(x)
    a = layers.Cropping2D(1)(a) if padding == "valid" else a
    x = layers.Concatenate()([a, b])
    x = layers.MaxPooling2D(3, 2, padding=padding)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(5, activation="softmax", name="logits")(x)
    return keras.Model(inp, x)


def _image(shape: tuple[int, int], seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, shape).astype("float32")


@pytest.mark.parametrize(
    "build",
    [
        lambda: vgg_like("same"),
        lambda: vgg_like("valid"),
        lambda: vgg_like("same", n_classes=1),
        lambda: vgg_like("same", n_classes=5, channels=3),
        lambda: inception_like("same"),
        lambda: inception_like("valid"),
    ],
    ids=["vgg-same", "vgg-valid", "vgg-sigmoid", "vgg-5class-rgb", "incep-same", "incep-valid"],
)
def test_conversion_reproduces_classifier_on_one_tile(build) -> None:
    model = build()
    fcn = to_fully_convolutional(model)
    tiles = np.random.default_rng(3).uniform(0, 1, (4, TILE, TILE, fcn.channels)).astype("f4")
    expected = classifier_abnormal_probability(model, tiles)
    got = keras.ops.convert_to_numpy(fcn.model(tiles, training=False))
    assert got.shape == (4, 1, 1, fcn.n_classes)
    np.testing.assert_allclose(abnormal_probability(got)[:, 0, 0], expected, atol=1e-5)
    assert fcn.tile == (TILE, TILE)


def test_stride_and_map_shape() -> None:
    fcn = to_fully_convolutional(vgg_like("same"))
    assert fcn.stride == 8  # conv s2, pool s2, pool s2
    assert fcn.aligned_size(TILE, TILE) == (TILE, TILE)
    assert fcn.aligned_size(10, TILE + 1) == (TILE, TILE + 8)
    assert fcn.map_shape(100, 61) == ((TILE + 64 - TILE) // 8 + 1, (TILE + 24 - TILE) // 8 + 1)
    out = probability_map(fcn, _image((100, 61)))
    assert out.shape == fcn.map_shape(100, 61)
    assert out.dtype == np.float32 and np.all((out >= 0) & (out <= 1))


@pytest.mark.parametrize("build", [vgg_like, inception_like], ids=["vgg", "inception"])
def test_valid_padding_map_equals_classifier_on_crops(build) -> None:
    model = build("valid")
    fcn = to_fully_convolutional(model)
    image = _image((TILE + 5 * fcn.stride + 3, TILE + 3 * fcn.stride))
    dense = probability_map(fcn, image)
    crops = sliding_window_map(model, fcn, image, batch_size=7)
    assert dense.shape == crops.shape == fcn.map_shape(*image.shape)
    assert dense.shape == (7, 4)  # rows: 5 strides + 3 px, padded up to a 6th step
    np.testing.assert_allclose(dense, crops, atol=1e-5)
    stats = compare_maps(dense, crops)
    assert stats["max_abs_diff"] < 1e-5 and stats["n_cells"] == dense.size


def test_same_padding_differs_only_by_border_context() -> None:
    """With "same" padding a lone crop sees zeros past its border, the scan sees its neighbours.

    So the maps differ on a larger image (the difference is the border context, measured in
    the sliding-window comparison), and agree exactly on a tile-sized one.
    """
    model = vgg_like("same")
    fcn = to_fully_convolutional(model)
    image = _image((TILE + 4 * fcn.stride, TILE + 4 * fcn.stride))
    dense = probability_map(fcn, image)
    crops = sliding_window_map(model, fcn, image)
    stats = compare_maps(dense, crops)
    assert stats["max_abs_diff"] > 1e-4  # context changes the answer somewhere
    # On one tile-sized image there is no neighbourhood: the two agree exactly.
    tile = _image((TILE, TILE), seed=5)
    np.testing.assert_allclose(
        probability_map(fcn, tile), sliding_window_map(model, fcn, tile), atol=1e-5
    )


def test_rejects_head_without_convolutional_equivalent() -> None:
    inp = keras.Input((TILE, TILE, 1))
    x = layers.Conv2D(4, 3, strides=4)(inp)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dense(2)(x)
    with pytest.raises(ValueError, match="flattened"):
        to_fully_convolutional(keras.Model(inp, x))


def test_scan_score() -> None:
    m = np.zeros((4, 5), dtype=np.float32)
    m[1, 2], m[3, 4], m[0, 0] = 0.9, 0.5, 0.4
    assert scan_score(m) == pytest.approx(0.9)
    assert scan_score(m, "topk", k=2) == pytest.approx(0.7)
    assert scan_score(m, "topk", k=100) == pytest.approx(m.mean())
    with pytest.raises(ValueError):
        scan_score(m, "median")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "size", "options", "stride"),
    [
        ("vgg_lite", 96, {"width": 0.125, "fc_units": (16, 16)}, 64),
        ("vgg16", 64, {"width": 0.05, "fc_units": (8, 8)}, 64),
        ("inception_v4_lite", 75, {"filter_scale": 0.05, "repeats": (1, 1, 1)}, 32),
    ],
)
def test_project_models_convert(name: str, size: int, options: dict, stride: int) -> None:
    """The project's three models (narrowed for speed) convert with the expected stride."""
    from mammo_lib.models import build_model

    model = build_model(name, input_size=size, n_classes=2, **options)
    _randomise_bn(model, np.random.default_rng(0))
    fcn = to_fully_convolutional(model)
    assert (fcn.tile, fcn.stride, fcn.channels) == ((size, size), stride, 1)
    tiles = np.random.default_rng(1).uniform(0, 1, (2, size, size, 1)).astype("float32")
    got = abnormal_probability(keras.ops.convert_to_numpy(fcn.model(tiles, training=False)))
    np.testing.assert_allclose(
        got[:, 0, 0], classifier_abnormal_probability(model, tiles), atol=1e-5
    )
    image = _image((size + 2 * stride + 5, size + stride))
    assert probability_map(fcn, image).shape == (4, 2)


def test_training_run_model_converts_with_its_preprocessing() -> None:
    """A run's model (uint8 -> scaling -> augmentation -> classifier) converts as a whole."""
    from mammo_lib.train import TrainConfig, build_training_model

    config = TrainConfig(
        dataset_dir="unused",
        image_size=64,
        scaling="centred",
        model_kwargs={"width": 0.125, "fc_units": [8, 8]},
    )
    model = build_training_model(config)
    _randomise_bn(model.get_layer("vgg_lite"), np.random.default_rng(0))
    fcn = to_fully_convolutional(model)
    assert (fcn.tile, fcn.stride) == ((64, 64), 64)
    rng = np.random.default_rng(2)
    tiles = rng.integers(0, 256, (3, 64, 64, 1)).astype("uint8")
    got = abnormal_probability(keras.ops.convert_to_numpy(fcn.model(tiles.astype("float32"))))
    np.testing.assert_allclose(
        got[:, 0, 0], classifier_abnormal_probability(model, tiles), atol=1e-5
    )
    image = rng.integers(0, 256, (64 + 128, 64 + 64)).astype("float32")
    dense, crops = probability_map(fcn, image), sliding_window_map(model, fcn, image)
    assert dense.shape == crops.shape == (3, 2)


@pytest.mark.parametrize("refine", [2, 4])
def test_shift_and_stitch_equals_crops_at_the_finer_step(refine: int) -> None:
    model = vgg_like("valid")
    fcn = to_fully_convolutional(model)
    image = _image((TILE + 2 * fcn.stride + 5, TILE + fcn.stride + 1), seed=4)
    dense = probability_map(fcn, image, refine=refine)
    step = fcn.stride // refine
    crops = sliding_window_map(model, fcn, image, step=step)
    assert dense.shape == crops.shape == fcn.map_shape(*image.shape, refine=refine)
    np.testing.assert_allclose(dense, crops, atol=1e-5)
    # the coarse map is every refine-th cell of the fine one
    np.testing.assert_allclose(dense[::refine, ::refine], probability_map(fcn, image), atol=1e-6)


def test_default_refine() -> None:
    from mammo_lib.scan.fcn import default_refine

    fcn = to_fully_convolutional(vgg_like("same"))  # stride 8, tile 37
    assert default_refine(fcn) == 1  # 8 * 3 <= 37
    assert default_refine(fcn, cells_per_tile=8) == 2
    with pytest.raises(ValueError, match="divisor"):
        probability_map(fcn, _image((40, 40)), refine=3)


def test_tile_difference_is_rounding_for_a_faithful_conversion_only() -> None:
    from mammo_lib.scan.fcn import tile_difference

    model = vgg_like("same", seed=0)
    fcn = to_fully_convolutional(model)
    assert tile_difference(model, fcn, n_tiles=8, seed=0) < 1e-5
    other = vgg_like("same", seed=1)  # another network's weights: not its conversion
    assert tile_difference(other, fcn, n_tiles=8, seed=0) > 1e-3
    with pytest.raises(ValueError, match="n_tiles"):
        tile_difference(model, fcn, n_tiles=0)


def test_default_refine_of_the_vgg_lite_tile_sizes() -> None:
    from mammo_lib.models import build_model
    from mammo_lib.scan.fcn import default_refine

    expected = {299: 1, 128: 2, 96: 2, 64: 4}  # stride 64: steps 64, 32, 32, 16 pixels
    for size, f in expected.items():
        classifier = build_model("vgg_lite", input_size=size, n_classes=2, width=0.125)
        fcn = to_fully_convolutional(classifier)
        assert fcn.stride == 64 and default_refine(fcn) == f, size
