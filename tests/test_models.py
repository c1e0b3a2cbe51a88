"""The registered ConvNets: shapes, heads, and the study's layer plan."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mammo_lib.models import MODELS, build_model, list_models
from mammo_lib.models.inception_v4 import MIN_INPUT_SIZE

#: Tiny builder options per model, so that every test stays fast.
TINY = {
    "vgg_lite": {"input_size": 32, "kw": {"width": 0.25, "fc_units": (16, 16)}},
    "vgg16": {"input_size": 32, "kw": {"width": 0.125, "fc_units": (16, 8)}},
    "inception_v4_lite": {
        "input_size": MIN_INPUT_SIZE,
        "kw": {"filter_scale": 0.125, "repeats": (1, 1, 1)},
    },
}


def test_registry_lists_the_three_models() -> None:
    assert list_models() == ["inception_v4_lite", "vgg16", "vgg_lite"]
    assert set(MODELS) == set(TINY)
    with pytest.raises(KeyError, match="unknown model 'resnet'"):
        build_model("resnet", input_size=32, n_classes=2)


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("n_classes", [2, 5])
def test_models_output_probabilities_through_a_flatten_dense_head(name: str, n_classes: int):
    tiny = TINY[name]
    model = build_model(name, input_size=tiny["input_size"], n_classes=n_classes, **tiny["kw"])
    assert model.name == name
    assert model.input_shape == (None, tiny["input_size"], tiny["input_size"], 1)
    x = np.random.default_rng(0).random((3, tiny["input_size"], tiny["input_size"], 1))
    probs = np.asarray(model(x.astype("float32"), training=False))
    assert probs.shape == (3, n_classes)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    names = [layer.name for layer in model.layers]
    assert names[-2:] == ["logits", "probabilities"]
    assert "flatten" in names
    assert isinstance(model.get_layer("logits"), keras.layers.Dense)
    assert model.get_layer("logits").units == n_classes
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    # Everything after the flatten is Dense / BN / ReLU / Dropout / Softmax: FCN-convertible.
    after = model.layers[names.index("flatten") + 1 :]
    allowed = (
        keras.layers.Dense,
        keras.layers.BatchNormalization,
        keras.layers.ReLU,
        keras.layers.Dropout,
        keras.layers.Softmax,
    )
    assert all(isinstance(layer, allowed) for layer in after)


def _of(model: keras.Model, kind: type) -> list:
    return [layer for layer in model.layers if isinstance(layer, kind)]


def test_vgg_lite_is_model_1_0_0_35_layer_for_layer() -> None:
    model = build_model("vgg_lite", input_size=299, n_classes=2)
    convs = _of(model, keras.layers.Conv2D)
    assert [c.filters for c in convs] == [32, 32, 32, 64, 64, 128, 128, 256, 512]
    assert [c.strides for c in convs] == [(2, 2)] + [(1, 1)] * 8
    assert all(c.kernel_size == (3, 3) and c.padding == "same" for c in convs)
    # Each convolution is followed by batch norm and ReLU.
    for conv in convs:
        assert isinstance(model.get_layer(f"{conv.name}_bn"), keras.layers.BatchNormalization)
        assert isinstance(model.get_layer(f"{conv.name}_relu"), keras.layers.ReLU)
    pools = _of(model, keras.layers.MaxPooling2D)
    assert [p.pool_size for p in pools] == [(3, 3)] + [(2, 2)] * 4
    assert all(model.get_layer(f"{p.name}_drop").rate == 0.1 for p in pools)
    dense = _of(model, keras.layers.Dense)
    assert [d.units for d in dense] == [2048, 2048, 2]
    assert model.get_layer("flatten_drop").rate == 0.5
    assert model.get_layer("fc1_drop").rate == model.get_layer("fc2_drop").rate == 0.5
    # L2 in TF1 convention: scale * sum(w^2) / 2, i.e. Keras factor scale / 2.
    assert all(np.isclose(c.kernel_regularizer.l2, 1e-5 / 2) for c in convs)
    assert all(np.isclose(d.kernel_regularizer.l2, 2.5e-3 / 2) for d in dense[:2])
    # 299 -> 150 (conv1) -> 75 -> 38 -> 19 -> 10 -> 5: a 5x5x512 map flattens to 12800.
    assert model.get_layer("flatten").output.shape[-1] == 5 * 5 * 512
    # Parameter count from the plan: conv kernels + 4 BN numbers per channel + the head.
    channels = [1] + [c.filters for c in convs]
    conv_params = sum(9 * a * b + 4 * b for a, b in zip(channels[:-1], channels[1:], strict=True))
    head = 12800 * 2048 + 4 * 2048 + 2048 * 2048 + 4 * 2048 + 2048 * 2 + 2
    assert model.count_params() == conv_params + head


def test_vgg16_variant() -> None:
    model = build_model("vgg16", input_size=299, n_classes=5)
    convs = _of(model, keras.layers.Conv2D)
    assert [c.filters for c in convs] == [64, 64, 128, 128] + [256] * 3 + [512] * 6
    assert convs[0].strides == (2, 2) and all(c.strides == (1, 1) for c in convs[1:])
    assert len(_of(model, keras.layers.BatchNormalization)) == 13 + 2
    assert [d.units for d in _of(model, keras.layers.Dense)] == [1024, 512, 5]


def test_inception_v4_lite_halves_the_filters() -> None:
    lite = build_model("inception_v4_lite", input_size=MIN_INPUT_SIZE, n_classes=2)
    # Inception-v4 grids: 384 channels after the stem, 1024 after reduction A, 1536 after B.
    assert lite.get_layer("stem_concat3").output.shape[-1] == 384 // 2
    assert lite.get_layer("red_a_concat").output.shape[-1] == 1024 // 2
    assert lite.get_layer("red_b_concat").output.shape[-1] == 1536 // 2
    assert lite.get_layer("incC3_concat").output.shape[-1] == 1536 // 2
    names = [layer.name for layer in lite.layers]
    assert sum(n.endswith("_concat") and n.startswith("incA") for n in names) == 4
    assert sum(n.endswith("_concat") and n.startswith("incB") for n in names) == 7
    few = build_model(
        "inception_v4_lite", input_size=MIN_INPUT_SIZE, n_classes=2, repeats=(1, 2, 1)
    )
    assert few.count_params() < lite.count_params()
    with pytest.raises(ValueError, match="input_size >= 75"):
        build_model("inception_v4_lite", input_size=MIN_INPUT_SIZE - 1, n_classes=2)


def test_flop_count_by_hand() -> None:
    from mammo_lib.models.flops import forward_flops, training_flops

    model = build_model("vgg_lite", input_size=32, n_classes=2, width=0.25, fc_units=(16, 16))
    convs = _of(model, keras.layers.Conv2D)
    expected = 0
    for conv in convs:
        _, h, w, c = conv.output.shape
        expected += 2 * h * w * c * 9 * conv.input.shape[-1]
    flat = model.get_layer("flatten").output.shape[-1]
    expected += 2 * (flat * 16 + 16 * 16 + 16 * 2)
    assert forward_flops(model) == expected
    assert training_flops(model) == 3 * expected
    # the first convolution at 299: 150 x 150 outputs x 32 filters x 9 taps x 1 channel x 2
    big = build_model("vgg_lite", input_size=299, n_classes=2)
    assert forward_flops(big) > 2 * 150 * 150 * 32 * 9
