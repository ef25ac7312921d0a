"""The one processing layer: read -> detect -> track -> mask -> obfuscate -> write.

Photos, arrays, video files and cameras all take the same path, and every
frame is anonymised in one function,
:func:`~fuzzypeople.pipeline.frames.anonymize_frames`:

* :mod:`.settings`: :class:`Settings`, every option in one frozen object;
* :mod:`.frames`: :func:`anonymize_frames` (detect -> track -> mask -> hide)
  and :class:`StillMasker` (a photo: each frame on its own);
* :mod:`.photo`: :func:`anonymize_photo`, one photo file;
* :mod:`.video`: :func:`anonymize_video` (a file) and :func:`record` (a
  camera), decode/anonymise/encode in three threads.

Reading and writing files is :mod:`fuzzypeople.io`'s job, the three stages
are :class:`fuzzypeople.Anonymizer`'s ``detect``, ``mask`` and ``hide``.
"""

from .frames import StillMasker, analyse, anonymize_frames
from .photo import anonymize_photo
from .result import Result
from .settings import DEFAULT_DILATE, DEFAULT_EVERY, DEFAULT_TILE_SCALE, GROW, Settings
from .video import Stream, anonymize_video, record

__all__ = ["DEFAULT_DILATE", "DEFAULT_EVERY", "DEFAULT_TILE_SCALE", "GROW", "Result", "Settings", "StillMasker",
           "Stream", "analyse", "anonymize_frames", "anonymize_photo", "anonymize_video", "record"]
