"""fuzzypeople: hide the people in photos and videos, and prove that it did.

The pipeline runs one way, one subpackage per stage::

    io (read) -> detect -> masks -> obfuscate -> io (write)      audit beside it

>>> import numpy as np, fuzzypeople
>>> out = fuzzypeople.anonymize(np.zeros((32, 32, 3), np.uint8), method="solid")
>>> out.shape, out.dtype.name
((32, 32, 3), 'uint8')
"""

__version__ = "0.1.0"

from .api import Anonymizer, Result, anonymize  # noqa: E402
from .errors import FuzzyError  # noqa: E402
from .people import People  # noqa: E402

__all__ = ["Anonymizer", "FuzzyError", "People", "Result", "anonymize", "__version__"]
