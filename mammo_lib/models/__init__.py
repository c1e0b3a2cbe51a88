"""The study's ConvNets, registered by name.

>>> from mammo_lib.models import build_model, list_models
>>> list_models()
['inception_v4_lite', 'vgg16', 'vgg_lite']

Every model maps scaled float tiles ``[N, s, s, 1]`` to class probabilities; its head is
Flatten -> Dense (``fc1``, ``fc2``) -> Dense ``logits`` -> Softmax ``probabilities``.
"""

from mammo_lib.models import inception_v4, vgg16, vgg_lite  # noqa: F401  (registers the models)
from mammo_lib.models.registry import (
    MODELS,
    build_model,
    list_models,
    model_decay_epochs,
    model_options,
    register_model,
)

__all__ = [
    "MODELS",
    "build_model",
    "list_models",
    "model_decay_epochs",
    "model_options",
    "register_model",
]
