"""The registered ConvNets: shapes, heads, and the study's layer plan."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from mammo_lib.models import MODELS, build_model, list_models
from mammo_lib.models.inception_v4 import MIN_INPUT_SIZE

#: Tiny builder options per model, so that every test stays fast.
TINY = {
    "vgg_lite": {"input_size": 32, "kw": {"width": 0.25, "fc_units": (16, 16)}},
    "vgg16": {"input_size": 32, "kw": {"width": 0.125, "fc_units": (16, 8)}},
    "vgg16_study": {"input_size": 32, "kw": {"width": 0.125, "fc_units": (16, 8)}},
    "inception_v4_lite": {
        "input_size": MIN_INPUT_SIZE,
        "kw": {"filter_scale": 0.125, "repeats": (1, 1, 1)},
    },
    "inception_v4_study": {
        "input_size": MIN_INPUT_SIZE,
        "kw": {"filter_scale": 0.125, "repeats": (1, 1, 1)},
    },
}


def test_registry_lists_the_five_models() -> None:
    assert list_models() == [
        "inception_v4_lite",
        "inception_v4_study",
        "vgg16",
        "vgg16_study",
        "vgg_lite",
    ]
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


def _conv_params(kh: int, kw: int, cin: int, cout: int) -> int:
    """A TF1 ``_conv2d_batch_norm`` of the study: kernel, bias, and 4 batch-norm numbers."""
    return kh * kw * cin * cout + cout + 4 * cout


def test_vgg16_study_is_vgg_16_3_layer_for_layer() -> None:
    # From the study's vgg_16.3.py (mammography-models): _conv2d_batch_norm (3x3 SAME, bias,
    # BN, ReLU) with 64 s2, 64 | 96, 96 | 128, 128 | 256 x3 | 384 x3, a 2x2/2 SAME max pool
    # after each block, dropout False (no pool dropout), lamC = 0, lamF = 2.5e-3; flatten,
    # dropout 0.5, dense 1024 and 512 (bias, BN momentum 0.9, ReLU, dropout 0.5), fc_logits.
    model = build_model("vgg16_study", input_size=299, n_classes=2)
    convs = _of(model, keras.layers.Conv2D)
    plan = [1, 64, 64, 96, 96, 128, 128, 256, 256, 256, 384, 384, 384]
    assert [c.filters for c in convs] == plan[1:]
    assert [c.strides for c in convs] == [(2, 2)] + [(1, 1)] * 11
    assert all(c.kernel_size == (3, 3) and c.padding == "same" and c.use_bias for c in convs)
    assert all(c.kernel_regularizer is None for c in convs)
    pools = _of(model, keras.layers.MaxPooling2D)
    assert [(p.pool_size, p.strides) for p in pools] == [((2, 2), (2, 2))] * 5
    assert [d.rate for d in _of(model, keras.layers.Dropout)] == [0.5, 0.5, 0.5]
    dense = _of(model, keras.layers.Dense)
    assert [d.units for d in dense] == [1024, 512, 2]
    assert all(np.isclose(d.kernel_regularizer.l2, 2.5e-3 / 2) for d in dense[:2])
    assert dense[2].kernel_regularizer is None
    assert model.get_layer("fc1_bn").momentum == 0.9
    assert model.get_layer("conv1_1_bn").momentum == 0.99
    # 299 -> 150 (stride 2) -> 75 -> 38 -> 19 -> 10 -> 5 (SAME pools): 5 x 5 x 384 = 9600.
    assert model.get_layer("flatten").output.shape[-1] == 9600
    conv_total = sum(_conv_params(3, 3, a, b) for a, b in zip(plan[:-1], plan[1:], strict=True))
    head = (9600 * 1024 + 1024 + 4 * 1024) + (1024 * 512 + 512 + 4 * 512) + (512 * 2 + 2)
    assert conv_total == 5_459_712  # 896 + 37184 + 55776 + ... + 2 x 1329024
    assert model.count_params() == conv_total + head == 15_823_106


def _inception_study_plan(n_classes: int) -> tuple[list[tuple[int, int, int, int]], int]:
    """Every convolution (kh, kw, cin, cout) of the study's inception_v4.05 and its head size.

    Transcribed from inception_utils.py (_stem, _block_a/b/c, _reduce_a with k, l, m, n =
    96, 128, 128, 192, _reduce_b) and inception_v4.05.py (3 A, 4 B, 2 C blocks; average pool,
    dropout 0.2, flatten, fc_logits; no fully connected layers).
    """
    convs = [(3, 3, 1, 32), (3, 3, 32, 32), (3, 3, 32, 64), (3, 3, 64, 96)]  # stem to concat1
    convs += [(1, 1, 160, 64), (3, 3, 64, 96)]  # 160 = 64 (pool) + 96
    convs += [(1, 1, 160, 64), (7, 1, 64, 64), (1, 7, 64, 64), (3, 3, 64, 96)]
    convs += [(3, 3, 192, 192)]  # concat3 = 192 (pool) + 192 = 384
    for _ in range(3):  # block A on 384 channels -> 96 * 4 = 384
        convs += [(1, 1, 384, 96), (1, 1, 384, 96), (1, 1, 384, 64), (3, 3, 64, 96)]
        convs += [(1, 1, 384, 64), (3, 3, 64, 96), (3, 3, 96, 96)]
    convs += [(3, 3, 384, 192), (1, 1, 384, 96), (3, 3, 96, 128), (3, 3, 128, 128)]
    cin = 384 + 192 + 128  # reduction A: 704
    for _ in range(4):  # block B -> 128 + 384 + 256 + 256 = 1024
        convs += [(1, 1, cin, 128), (1, 1, cin, 384)]
        convs += [(1, 1, cin, 192), (1, 7, 192, 224), (7, 1, 224, 256)]
        convs += [(1, 1, cin, 192), (1, 7, 192, 192), (7, 1, 192, 224)]
        convs += [(1, 7, 224, 224), (7, 1, 224, 256)]
        cin = 1024
    convs += [(1, 1, 1024, 192), (3, 3, 192, 192)]  # reduction B -> 1024 + 192 + 320
    convs += [(1, 1, 1024, 256), (1, 7, 256, 256), (7, 1, 256, 320), (3, 3, 320, 320)]
    for _ in range(2):  # block C on 1536 -> 6 x 256 = 1536
        convs += [(1, 1, 1536, 256), (1, 1, 1536, 256), (1, 1, 1536, 384)]
        convs += [(1, 3, 384, 256), (3, 1, 384, 256), (1, 1, 1536, 384), (1, 3, 384, 448)]
        convs += [(3, 1, 448, 512), (1, 3, 512, 256), (3, 1, 512, 256)]
    return convs, 1536 * n_classes + n_classes


def test_inception_v4_study_is_inception_v4_05_layer_for_layer() -> None:
    model = build_model("inception_v4_study", input_size=299, n_classes=2)
    plan, head = _inception_study_plan(2)
    convs = _of(model, keras.layers.Conv2D)
    assert sorted((*c.kernel_size, c.input.shape[-1], c.filters) for c in convs) == sorted(plan)
    assert all(c.use_bias and c.kernel_regularizer is None for c in convs)
    names = [layer.name for layer in model.layers]
    for block, count in (("incA", 3), ("incB", 4), ("incC", 2)):
        assert sum(n.startswith(block) and n.endswith("_concat") for n in names) == count
        pools = [p for p in _of(model, keras.layers.AveragePooling2D) if p.name.startswith(block)]
        assert len(pools) == count and all(p.pool_size == (2, 2) for p in pools)
        assert all(p.strides == (1, 1) for p in pools)
    # 299 -> stem 35 x 35 x 384 -> reduction A 17 x 17 x 704 -> reduction B 8 x 8 x 1536.
    assert tuple(model.get_layer("stem_concat3").output.shape[1:]) == (35, 35, 384)
    assert tuple(model.get_layer("red_a_concat").output.shape[1:]) == (17, 17, 704)
    assert tuple(model.get_layer("red_b_concat").output.shape[1:]) == (8, 8, 1536)
    assert model.get_layer("final_pool").pool_size == (8, 8)
    assert model.get_layer("final_pool_drop").rate == 0.2
    assert [d.name for d in _of(model, keras.layers.Dense)] == ["logits"]  # no FC layers
    assert names.index("final_pool_drop") < names.index("flatten") < names.index("logits")
    expected = sum(_conv_params(*c) for c in plan) + head
    assert model.count_params() == expected == 25_893_698


def test_the_study_vgg16_carries_its_decay_schedule() -> None:
    # vgg_16.3.py decays the learning rate every 10 epochs; model 1.0.0.35 every 5
    from mammo_lib.models import model_decay_epochs
    from mammo_lib.models.vgg16 import STUDY_DECAY_EPOCHS

    assert STUDY_DECAY_EPOCHS == 10
    assert model_decay_epochs("vgg16_study", 5) == 10
    assert model_decay_epochs("vgg_lite", 5) == 5


#: Every registry model's layers (class, name, output shape) and parameter count at the
#: TINY options, as the builders made them when this file was written. A deliberate change
#: to a model rewrites it: build each model as in :func:`_layer_list` and dump the dict.
LAYER_LISTS = Path(__file__).parent / "data" / "model_layers.json"


def _layer_list(name: str) -> dict[str, object]:
    tiny = TINY[name]
    model = build_model(name, input_size=tiny["input_size"], n_classes=2, **tiny["kw"])
    return {
        "count_params": model.count_params(),
        "layers": [f"{type(x).__name__} {x.name} {tuple(x.output.shape)}" for x in model.layers],
    }


@pytest.mark.parametrize("name", sorted(TINY))
def test_every_model_keeps_its_recorded_layer_list(name: str) -> None:
    recorded = json.loads(LAYER_LISTS.read_text(encoding="utf-8"))
    assert sorted(recorded) == list_models()
    assert _layer_list(name) == recorded[name]
