"""The model registry: build any of the study's ConvNets by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras

#: Builder signature: ``builder(*, input_size, n_classes, **kw) -> keras.Model``.
ModelBuilder = Callable[..., keras.Model]

#: Registered builders by name; fill it with :func:`register_model`.
MODELS: dict[str, ModelBuilder] = {}
#: Epochs between learning-rate decays the study used for a model, where it differs from
#: the training default (model 1.0.0.35's 5).
DECAY_EPOCHS: dict[str, int] = {}


def register_model(
    name: str, *, decay_epochs: int | None = None
) -> Callable[[ModelBuilder], ModelBuilder]:
    """Return a decorator that registers a model builder under `name`.

    Parameters
    ----------
    name
        Registry key, e.g. ``"vgg_lite"``; must be new.
    decay_epochs
        The study's epochs between learning-rate decays for this model, if not the default.
    """

    def decorator(builder: ModelBuilder) -> ModelBuilder:
        if name in MODELS:
            raise ValueError(f"model {name!r} is already registered")
        MODELS[name] = builder
        if decay_epochs is not None:
            DECAY_EPOCHS[name] = int(decay_epochs)
        return builder

    return decorator


def model_decay_epochs(name: str, default: int) -> int:
    """Epochs between learning-rate decays for `name`: the study's, else `default`."""
    return DECAY_EPOCHS.get(name, default)


def model_options(name: str, **knobs: Any) -> dict[str, Any]:
    """The builder options of `name` among the book's model knobs, by keyword.

    The chapters and ``mammo train`` set a filter multiplier and a batch-norm momentum
    (``width``, ``bn_momentum``) for whatever model they train; not every builder has them
    (``inception_v4_lite`` is already the half-width network, ``vgg16_study`` has no batch
    norm option). The options a model takes are the keywords of its registered builder, so
    this returns the knobs the builder accepts, dropping the others and any knob set to None
    (the builder's own default).

    Parameters
    ----------
    name
        A name from :func:`list_models`.
    **knobs
        Candidate builder options, e.g. ``width=0.5, bn_momentum=0.9``.

    Returns
    -------
    dict
        The knobs to pass to :func:`build_model` for `name` (in the order given).
    """
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    accepted = inspect.signature(MODELS[name]).parameters
    return {k: v for k, v in knobs.items() if v is not None and k in accepted}


def list_models() -> list[str]:
    """Return the registered model names, sorted."""
    return sorted(MODELS)


def build_model(name: str, *, input_size: int, n_classes: int, **kw: object) -> keras.Model:
    """Build a registered model.

    Parameters
    ----------
    name
        A name from :func:`list_models`.
    input_size
        Side of the square single-channel input tile in pixels (the study: 299).
    n_classes
        2 (normal / abnormal) or 5 (normal plus benign/malignant mass/calcification).
    **kw
        Builder-specific options (regularisation, dropout, filter scale ...).

    Returns
    -------
    keras.Model
        A functional model from float inputs ``[batch, input_size, input_size, 1]`` (already
        scaled) to class probabilities ``[batch, n_classes]``; the last two layers are the
        Dense ``"logits"`` and the softmax ``"probabilities"``.
    """
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    return MODELS[name](input_size=input_size, n_classes=n_classes, **kw)
