"""mammo_lib: the library behind the book "ConvNets for Detection of Abnormalities in Mammograms".

Data flows one way through the package::

    sources -> imaging -> extract -> dataset -> train -> evaluate
                                                  \\-> scan

A module imports only from the steps before it, never after.
"""

__version__ = "0.1.0"
