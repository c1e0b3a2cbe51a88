"""The model ``mammo predict`` uses when given none: the detector trained on all of mini-MIAS.

It is :func:`mammo_lib.train.mias_detector.ensure_mias_detector` with its default recipe
(:data:`DEFAULT_RECIPE`: 96-pixel tiles of the study's 23 mm field of view at 0.2 mm, VGG-lite
at half width, 12 epochs; see :class:`~mammo_lib.train.mias_detector.MiasRecipe`): trained
on first use (a few minutes on a laptop CPU, with a progress bar) and cached by content
under ``$MAMMO_WORK_DIR/runs``, so every later call, and chapter 10 of the book under the
``quick`` profile (``make book``), reuse the same run folder. Its ``predict.json`` says what
it was trained on and that it is for research use only, not for diagnosis.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The recipe of the default model; None: ``MiasRecipe()``, the detector chapter's ``quick``
#: settings.
DEFAULT_RECIPE: Any = None
#: One line for ``--help`` and the logs.
DESCRIPTION = (
    "the detector trained on all of mini-MIAS (mammo_lib.train.mias_detector, default recipe; "
    "trained on first use, a few minutes, then cached by content under $MAMMO_WORK_DIR/runs)"
)


def default_model_run(*, recipe: Any = None, progress: bool = True) -> Path:
    """Return the default model's run folder, training it on first use.

    Parameters
    ----------
    recipe
        A :class:`~mammo_lib.train.mias_detector.MiasRecipe`; None: :data:`DEFAULT_RECIPE`.
    progress
        Show progress bars while the tiles are cut and the model trains.
    """
    from mammo_lib.train.mias_detector import ensure_mias_detector

    return ensure_mias_detector(DEFAULT_RECIPE if recipe is None else recipe, progress=progress)
