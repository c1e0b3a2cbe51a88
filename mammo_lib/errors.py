"""The errors the project raises on bad input or failed work, as the command line reports them.

Every module raises a specific class (``HashMismatchError``, ``CorruptShardError``,
``DatasetFolderError``, ...) derived from a built-in one (``ValueError``, ``RuntimeError``,
``OSError``); :data:`REPORTED` lists the built-in families the command line turns into one
line naming the file and the problem (exit 1). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from mammo_lib.sources.report import ImageReadError

#: Error families ``mammo`` reports as one line (exit 1); ``--debug`` shows the traceback.
REPORTED: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    RuntimeError,
    FloatingPointError,
    ImageReadError,
)


def one_line(error: BaseException) -> str:
    """The error's message on one line (its type when the message is empty)."""
    text = " ".join(str(error).split())
    if isinstance(error, KeyError) and len(error.args) == 1:
        text = str(error.args[0])
    return text or type(error).__name__
