"""Temporal safety for video: tracking, gap filling, detection cadence, fail-safe.

:class:`Tracker` follows people across frames; :class:`TemporalMasker` turns a
stream of frames into masks that hold people through detector misses.
"""

from .motion import DEFAULT_SWEEP, MotionTiles
from .temporal import DEFAULT_HOLD, DEFAULT_LOOKAHEAD, AnalysisError, TemporalMasker, scaled
from .tracker import Track, Tracker

__all__ = ["AnalysisError", "DEFAULT_HOLD", "DEFAULT_LOOKAHEAD", "DEFAULT_SWEEP", "MotionTiles", "TemporalMasker", "Track",
           "Tracker", "scaled"]
