"""mammo_lib: the library behind the book "ConvNets for Detection of Abnormalities in Mammograms".

Data flows one way through the package, in stages::

    io, config                 ground floor: atomic file writes, data and work folders
      -> imaging               every pixel read and converted (DICOM, LJPEG, PGM, PNG -> uint8)
      -> sources               data sets: fetch, find cases, parse their tables and headers
      -> extract               tiles cut from scans (ROI crops, normal tiles, keep-rules)
      -> dataset               recipes, splits, builds, TFRecord shards
      -> models -> train       networks, and training them on a dataset
      -> evaluate, scan        scoring tiles; whole-scan maps and localisation (also eda,
                               classical: the UCI tables; report: the book's tables,
                               verdicts and claims)
      -> commands, cli, book   the ``mammo`` command and the book runner

The rule: a module imports only from its own part of the package or from an earlier stage,
never from a later one, and siblings of one stage (evaluate and scan) do not import each
other; only the top floor imports across itself. ``tests/test_layering.py`` enforces it.
"""

import warnings

__version__ = "0.1.0"

# tqdm.auto falls back to text bars when ipywidgets is absent (as under papermill); its warning
# about the missing widget would otherwise clutter every chapter that shows a progress bar.
warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)
