"""saddlepoint: robust and game-theoretic learning as saddle-point problems.

`import saddlepoint` loads only NumPy and SciPy. Families with heavy dependencies (torch,
transformers, botorch) are imported from their own subpackages, and a missing extra raises
:class:`saddlepoint.errors.MissingExtraError` naming the ``pip install`` that fixes it.
"""

from saddlepoint._version import __version__
from saddlepoint.errors import InvalidInputError, MissingExtraError, SaddlepointError

__all__ = ["__version__", "SaddlepointError", "InvalidInputError", "MissingExtraError"]
