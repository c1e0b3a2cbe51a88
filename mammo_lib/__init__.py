"""mammo_lib: the library behind the book "ConvNets for Detection of Abnormalities in Mammograms".

Data flows one way through the package::

    sources -> imaging -> extract -> dataset -> train -> evaluate
                                                  \\-> scan

A module imports only from the steps before it, never after.
"""

import warnings

__version__ = "0.1.0"

# tqdm.auto falls back to text bars when ipywidgets is absent (as under papermill); its warning
# about the missing widget would otherwise clutter every chapter that shows a progress bar.
warnings.filterwarnings("ignore", message="IProgress not found", category=Warning)
