"""The model ``mammo predict`` uses when given none: the detector trained on all of mini-MIAS.

It is :func:`mammo_lib.train.mias_detector.ensure_mias_detector` with its default recipe
(:data:`DEFAULT_RECIPE`: 96-pixel tiles of the study's 23 mm field of view at 0.2 mm, VGG-lite
at half width, 12 epochs; see :class:`~mammo_lib.train.mias_detector.MiasRecipe`) and a
second round of 8 epochs with 4 hard negatives per scan, the first round's false positives
on every MIAS scan (:data:`DEFAULT_HARD_NEGATIVES`; in chapter 09's cross-validation they
took the held-out maps' lesion sensitivity at one false positive per scan from 0 to about
0.3, and 8 epochs of that round instead of 4 to about 0.36, see
:mod:`mammo_lib.scan.hard_negatives` and ``benchmarks/results``). Trained on first
use (a few minutes on a laptop CPU, with a progress bar) and cached by content under
``$MAMMO_WORK_DIR/runs``, so every later call, and chapter 10 of the book under the
``quick`` profile (``make book``), reuse the same run folders. Its ``predict.json`` says
what it was trained on and that it is for research use only, not for diagnosis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The recipe of the default model; None: ``MiasRecipe()``, the detector chapter's ``quick``
#: settings.
DEFAULT_RECIPE: Any = None
#: Fields of the default model's :class:`~mammo_lib.scan.hard_negatives.HardNegatives`
#: round; None: one round of training.
DEFAULT_HARD_NEGATIVES: dict[str, Any] | None = {"per_scan": 4, "epochs": 8}
#: One line for ``--help`` and the logs.
DESCRIPTION = (
    "the detector trained on all of mini-MIAS (mammo_lib.train.mias_detector, default recipe "
    "with a round of hard negatives; "
    "trained on first use, a few minutes, then cached by content under $MAMMO_WORK_DIR/runs)"
)


def default_model_run(
    *, recipe: Any = None, hard_negatives: Any = "default", progress: bool = True
) -> Path:
    """Return the default model's run folder, training it on first use.

    Parameters
    ----------
    recipe
        A :class:`~mammo_lib.train.mias_detector.MiasRecipe`; None: :data:`DEFAULT_RECIPE`.
    hard_negatives
        A :class:`~mammo_lib.scan.hard_negatives.HardNegatives` or None (one round);
        ``"default"``: :data:`DEFAULT_HARD_NEGATIVES`.
    progress
        Show progress bars while the tiles are cut and the model trains.
    """
    import numpy as np

    from mammo_lib.dataset.mias_tiles import ensure_mias_tiles
    from mammo_lib.scan.hard_negatives import HardNegatives
    from mammo_lib.train.mias_detector import MiasRecipe, ensure_mias_detector

    if isinstance(hard_negatives, str):
        if hard_negatives != "default":
            raise ValueError(
                f"hard_negatives: a HardNegatives, None or 'default', not {hard_negatives!r}"
            )
        fields = DEFAULT_HARD_NEGATIVES
        hard_negatives = None if fields is None else HardNegatives(**fields)
    recipe = DEFAULT_RECIPE if recipe is None else recipe
    if hard_negatives is None:
        return ensure_mias_detector(recipe, progress=progress)
    # Both rounds on every tile; the validation women's scans are mined too (the first
    # round never trained on them), so the threshold is chosen on their hard negatives.
    recipe = MiasRecipe() if recipe is None else recipe
    data = ensure_mias_tiles(recipe.tiles, progress=progress)
    return hard_negatives.train(data, np.arange(len(data.meta)), recipe)
