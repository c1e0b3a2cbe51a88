"""mammo_lib: the library behind the book "ConvNets for Detection of Abnormalities in Mammograms".

Data flows one way through the package, in stages::

    io, config                 ground floor: atomic file writes, data and work folders
      -> imaging               every pixel read and converted (DICOM, LJPEG, PGM, PNG -> uint8)
      -> sources               data sets: fetch, find cases, parse their tables and headers
      -> extract               tiles cut from scans (ROI crops, normal tiles, keep-rules)
      -> dataset               recipes, splits, builds, TFRecord shards
      -> models -> train       networks, and training them on a dataset
      -> evaluate, scan        scoring tiles; whole-scan maps and localisation (also
                               tabular: the UCI tables' exploration and classical models;
                               report: the book's tables, verdicts and claims)
      -> commands, cli, book   the ``mammo`` command and the book runner

The rule: a module imports only from its own part of the package or from an earlier stage,
never from a later one, and siblings of one stage (evaluate and scan) do not import each
other; only the top floor imports across itself. ``tests/test_layering.py`` enforces it.
"""

import logging as _logging
import os as _os
import warnings as _warnings

__version__ = "0.1.0"

# Third-party logs stay out of the chapters' outputs, where they would read as results (set
# here, before anything imports TensorFlow):
# - TensorFlow's C++ logging defaults to warnings and errors only (a value the user set is
#   kept), so its runtime INFO lines (``TFRecordDataset buffer_size`` ...) are not printed;
# - records below ERROR from the ``tensorflow`` and ``absl`` Python loggers (retracing notices,
#   deprecations) are dropped by a filter on those loggers; TensorFlow resets the
#   ``tensorflow`` logger's level to INFO in an interactive kernel, so a level would not hold;
# - tqdm.auto's warning that ipywidgets is missing (it then draws text bars) is ignored.
# What native libraries write to the process's stderr while loading (absl's InitializeLog
# notice, CUDA probing) cannot be filtered from Python: ``mammo book`` starts its kernels so
# that it goes to the build's terminal instead of the pages (``mammo_lib.book``).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _below_error(record: _logging.LogRecord) -> bool:
    return record.levelno >= _logging.ERROR


for _name in ("tensorflow", "absl"):
    if _below_error not in _logging.getLogger(_name).filters:
        _logging.getLogger(_name).addFilter(_below_error)
_warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)
