"""Keep third-party logs out of the chapters' outputs, where they read as results.

Called once from ``mammo_lib/__init__``, before TensorFlow is imported:

- TensorFlow's C++ logging (``TF_CPP_MIN_LOG_LEVEL``) defaults to errors only, so the
  INFO/WARNING lines of its runtime (``TFRecordDataset buffer_size``, oneDNN notes) are not
  printed; a value the user set is kept.
- Records below ERROR from the ``tensorflow`` and ``absl`` Python loggers are dropped by a
  filter on those loggers (TensorFlow resets the ``tensorflow`` logger's level to INFO in an
  interactive kernel, so a level alone would not hold). These are retracing notices and
  deprecation warnings, not results; errors still show.
- The text-bar fallback warning of ``tqdm.auto`` without ipywidgets is ignored.

Lines that native libraries write to the process's stderr while loading (absl's
``InitializeLog`` notice, CUDA probing) cannot be filtered from Python; ``mammo book`` runs its
kernels so that such output goes to the build's terminal instead of the pages.
"""

from __future__ import annotations

import logging
import os
import warnings

#: Python loggers whose records below ERROR are dropped.
QUIET_LOGGERS = ("tensorflow", "absl")


class _BelowError(logging.Filter):
    """Drop records below ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


_FILTER = _BelowError()


def quiet_third_party_logs() -> None:
    """Apply the settings above (idempotent)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)
