"""fuzzypeople: hide the people in photos and videos, and prove that it did.

One pipeline (:mod:`fuzzypeople.pipeline`) for photos, arrays, videos and
cameras; every frame is anonymised in
:func:`fuzzypeople.pipeline.frames.anonymize_frames`::

    io (read) -> detect -> track -> masks -> obfuscate -> io (write)   audit beside it

>>> import numpy as np, fuzzypeople
>>> out = fuzzypeople.anonymize(np.zeros((32, 32, 3), np.uint8), method="solid")
>>> out.shape, out.dtype.name
((32, 32, 3), 'uint8')
"""

__version__ = "0.1.0"

from .api import Anonymizer, Result, anonymize  # noqa: E402
from .errors import FuzzyError  # noqa: E402
from .people import People  # noqa: E402
from .pipeline import Settings  # noqa: E402

__all__ = ["Anonymizer", "FuzzyError", "People", "Result", "Settings", "anonymize", "__version__"]
