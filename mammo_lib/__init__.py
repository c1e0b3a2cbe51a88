"""mammo_lib: the library behind the book "ConvNets for Detection of Abnormalities in Mammograms".

Data flows one way through the package::

    sources -> imaging -> extract -> dataset -> train -> evaluate
                                                  \\-> scan

A module imports only from the steps before it, never after.
"""

from mammo_lib._quiet import quiet_third_party_logs

__version__ = "0.1.0"

# Third-party logs (TensorFlow, absl) and tqdm's widget warning stay out of the chapters.
quiet_third_party_logs()
