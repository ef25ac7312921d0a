"""Video in and out with PyAV (ffmpeg inside the wheel): frames and audio, nothing about people.

:class:`VideoReader` gives a video file, camera or stream as a plain iterator
of :class:`Frame` (RGB pixels, timestamp, rotation) and audio packets, in
demux order; :class:`VideoWriter` is a context manager that takes frames and
passes the reader's audio through. Together they keep what a viewer needs and
nothing else:

* kept: frame count, frame rate and each frame's timestamp (variable frame
  rate stays variable), resolution and pixel shape (sample aspect ratio),
  rotation (display matrix), the colour description (a BT.709 or BT.2020
  video is converted back with its own matrix and tagged so, see
  :class:`Colour`), every audio stream (packets copied as they are when
  the output container takes the codec, else re-encoded to AAC, or Opus for
  WebM; ``audio=False`` drops them);
* stripped unless ``keep_metadata``: container and stream tags (title,
  location, creation_time, encoder and comments); location tags stay stripped
  without ``keep_gps`` too. The muxer runs bit-exact (no ``Lavf`` tag) and
  x264's version/options SEI is removed from the bitstream;
* written atomically: a writer left by an exception leaves no output file;
* errors are one line (:class:`~fuzzypeople.errors.FuzzyError`): a file that
  cannot be opened, decoded, or that ends early is named with the reason.

Encoding defaults (all overridable): H.264 (libx264, yuv420p, CRF 20,
preset ``veryfast``) for .mp4/.mov/.mkv/.m4v, VP9 (libvpx-vp9, CRF 32,
realtime) for .webm, MPEG-4 Part 2 (quantiser 3, no B-frames) for .avi (H.264
in AVI reads back with shifted timestamps).

What happens to the frames in between is :mod:`fuzzypeople.pipeline`'s business.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import heapq
import re
import sys
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import FuzzyError
from .atomic import atomic_path

EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
# Larger frames are refused (8K UHD is 33 MP): a decoded frame is held several
# times over in the queues between threads.
MAX_FRAME_PIXELS = 40_000_000

# Video encoder per output extension, and each encoder's quality default and options.
VIDEO_CODEC = {".webm": "libvpx-vp9", ".avi": "mpeg4"}  # everything else: libx264
DEFAULT_VIDEO_CODEC = "libx264"
ENCODER_OPTIONS = {
    "libx264": ({"preset": "veryfast"}, 20),  # and X264_AVX512 on CPUs with AVX-512
    "libx265": ({"preset": "veryfast"}, 24),
    "libvpx-vp9": ({"b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}, 32),
    "libvpx": ({"b": "1M", "deadline": "realtime", "cpu-used": "8"}, 10),
    "libsvtav1": ({"preset": "10"}, 35),
    "mpeg4": ({}, 3),  # MPEG-4 Part 2: --crf is its quantiser, 2 (best) to 31
}
# Audio codecs each container takes as they are (copied without re-encoding).
AUDIO_COPY = {
    ".mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    ".m4v": {"aac", "ac3"},
    ".mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le"},
    ".mkv": {"aac", "mp3", "mp2", "opus", "vorbis", "flac", "alac", "ac3", "eac3", "dts", "truehd",
             "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"},
    ".webm": {"opus", "vorbis"},
    ".avi": {"mp3", "mp2", "ac3", "pcm_s16le", "pcm_u8"},
}
AUDIO_ENCODE = {".webm": ("libopus", 48000), ".avi": ("libmp3lame", None)}  # else ("aac", None)
LOCATION_KEYS = re.compile(r"location|gps|xyz|iso6709", re.I)


def parse_time(value: str | float | int | None) -> float | None:
    """Seconds from ``12.5``, ``1:30`` or ``01:02:03.5``.

    >>> parse_time("1:02:03.5"), parse_time("90"), parse_time(None)
    (3723.5, 90.0, None)
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        parts = str(value).strip().split(":")
        if len(parts) > 3:
            raise ValueError(f"{value!r} is not seconds or [HH:]MM:SS")
        try:
            seconds = 0.0
            for p in parts:
                seconds = seconds * 60 + float(p)
        except ValueError:
            raise ValueError(f"{value!r} is not seconds or [HH:]MM:SS") from None
    if seconds < 0:
        raise ValueError(f"time {value!r} is negative")
    return seconds


@dataclasses.dataclass
class Encoding:
    codec: str
    pix_fmt: str
    options: dict[str, str]


# x264's AVX-512 code reads memory it has not written: on flat areas (a painted box), the
# same frames encoded twice gave other bytes when malloc's leftovers differed (glibc's
# MALLOC_PERTURB_), so --seed and any number of workers could not promise the same file.
# Its AVX2 code is exact and made the same bytes as the AVX-512 code on zeroed memory.
# On a CPU with AVX-512, x264 is told to use at most AVX2 (a CPU without it detects its own).
X264_AVX512 = "asm=avx2"


@functools.lru_cache(maxsize=1)
def _has_avx512() -> bool:
    """Does this CPU have AVX-512 (Linux: /proc/cpuinfo)?"""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx512f" in line for line in f)
    except OSError:
        return False


def choose_encoding(ext: str, codec: str | None = None, crf: int | None = None,
                    size: tuple[int, int] = (2, 2)) -> Encoding:
    """The video encoder for an output extension (``codec``/``crf`` override)."""
    import av

    name = codec or VIDEO_CODEC.get(ext.lower(), DEFAULT_VIDEO_CODEC)
    try:
        av.codec.Codec(name, "w")
    except Exception:
        raise ValueError(f"unknown video encoder {name!r} (this build has e.g. libx264, libx265, "
                         "libvpx-vp9, libsvtav1, mpeg4)") from None
    options, default_crf = ENCODER_OPTIONS.get(name, ({}, None))
    options = dict(options)
    quality = default_crf if crf is None else crf
    if name in ("mpeg4", "msmpeg4", "mpeg2video", "mjpeg") and quality is not None:
        options.update(flags="+qscale", global_quality=str(int(np.clip(quality, 1, 31)) * 118))  # FF_QP2LAMBDA
    elif quality is not None:
        options["crf"] = str(quality)
    if name == "libx264" and _has_avx512():
        options["x264-params"] = X264_AVX512
    w, h = size
    # 4:2:0 needs even sizes; odd ones keep their size in 4:4:4 (x264/x265 only).
    pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 or name not in ("libx264", "libx265") else "yuv444p"
    return Encoding(name, pix_fmt, options)


def why(exc: BaseException) -> str:
    """A short reason from an ffmpeg/PyAV exception."""
    msg = getattr(exc, "strerror", None) or str(exc)
    msg = re.sub(r"\[Errno -?\d+\]\s*", "", str(msg))
    msg = msg.split(";")[0].strip().rstrip(":")
    if msg.endswith(("'", '"')) and ": '" in msg:  # "...: '/path/to/file'"
        msg = msg.rsplit(": '", 1)[0]
    return " ".join(msg.split()) or type(exc).__name__


@dataclasses.dataclass(frozen=True)
class Colour:
    """How a video's YUV values turn into colours: ffmpeg's numbers for the matrix
    (``AVColorSpace``), the primaries and the transfer curve; 2 is "unspecified".

    Decoding converts YUV to RGB with the matrix the video declares, and a
    writer converts back with the same matrix and tags the output with the
    source's description. (Players take an untagged HD video as BT.709:
    converted back with BT.601 and left untagged, a BT.709 green of
    (32, 192, 64) would show as (19, 167, 61).) An unspecified or unknown
    matrix is decoded and encoded with BT.601 and stays untagged, which gives
    back the stored YUV values.

    >>> Colour(1, 1, 1).matrix.name, Colour().matrix
    ('ITU709', None)
    """

    space: int = 2
    primaries: int = 2
    trc: int = 2

    @property
    def matrix(self):
        """swscale's name for the matrix (``av.video.reformatter.Colorspace``), or None when unknown."""
        from av.video.reformatter import Colorspace

        return {1: Colorspace.ITU709, 4: Colorspace.FCC, 5: Colorspace.ITU601, 6: Colorspace.ITU601,
                7: Colorspace.SMPTE240M, 9: Colorspace.BT2020, 10: Colorspace.BT2020}.get(self.space)


@dataclasses.dataclass
class Frame:
    """One decoded video frame."""

    rgb: np.ndarray  # (H, W, 3) uint8, as stored (not rotated)
    pts: int | None  # in the video stream's time base
    time: float  # seconds
    rotation: float  # display rotation in degrees (0, 90, 180, 270)


def main_video(container):
    """The container's video: the stream ffmpeg itself would pick (``av_find_best_stream``:
    more frames win), so a cover picture or a one-frame still stored before it is passed
    over; None if there is none."""
    return container.streams.best("video") if container.streams.video else None


def check_input(src: Path) -> None:
    """Refuse what cannot be a video file before opening it."""
    if not src.exists():
        raise FuzzyError(src, "no such file")
    if src.is_dir():
        raise FuzzyError(src, "is a folder, not a video")
    if not src.is_file():
        raise FuzzyError(src, "not a regular file (a named pipe or a device?), not a video")
    if src.stat().st_size == 0:
        raise FuzzyError(src, "empty file (0 bytes), not a video")


def check_output(dst: Path) -> None:
    """Refuse an output extension no video can be written as."""
    ext = dst.suffix.lower()
    if ext not in EXTENSIONS:
        raise FuzzyError(dst, f"cannot write video as {ext or 'no extension'}; use one of {' '.join(EXTENSIONS)}")


def open_file(src: str | Path):
    """Open a video file with PyAV, or raise a one-line :class:`FuzzyError`."""
    import av

    try:
        return av.open(str(src), metadata_errors="ignore")
    except Exception as exc:
        raise FuzzyError(src, f"not a readable video ({why(exc)})") from None


def open_stream(source: str, fmt: str | None = None, options: dict | None = None):
    """Open a camera (``0``, ``/dev/video0``) or a stream URL / file with PyAV."""
    import av

    target = source
    if source.isdigit():
        if sys.platform == "darwin":
            fmt = fmt or "avfoundation"
        elif sys.platform.startswith("win"):
            raise FuzzyError(source, 'on Windows name the camera, e.g. "video=Integrated Camera" --format dshow')
        else:
            target, fmt = f"/dev/video{source}", fmt or "v4l2"
    elif source.startswith("/dev/video"):
        fmt = fmt or "v4l2"
    if fmt is None and "://" not in source and not Path(source).exists():
        raise FuzzyError(source, "no such camera, file or stream")
    opts = dict(options or {})
    if "://" in source:
        opts.setdefault("timeout", "10000000")  # microseconds, for network streams
    try:
        return av.open(target, format=fmt, options=opts, timeout=10)
    except Exception as exc:
        raise FuzzyError(source if target == source else f"{source} ({target})",
                         f"cannot open camera or stream ({why(exc)})") from None



@dataclasses.dataclass
class VideoIndex:
    """Where a file's video frames are, from its packets alone (nothing decoded)."""

    times: np.ndarray  # every frame's time in seconds, ascending
    declared: int  # frames the stream declares (0 if it does not)


def video_index(src: str | Path) -> VideoIndex:
    """The frame times of ``src``'s first video stream, read from its packets.

    Demuxing without decoding is fast (a few seconds for an hour of video). A
    file whose video packets carry no timestamps raises :class:`FuzzyError`.

    >>> import av, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "grey.mkv")
    >>> with av.open(path, "w") as c:
    ...     s = c.add_stream("ffv1", rate=10); s.width, s.height, s.pix_fmt = 32, 16, "bgr0"
    ...     for i in range(3):
    ...         f = av.VideoFrame.from_ndarray(np.full((16, 32, 3), 99, np.uint8), "rgb24"); f.pts = i
    ...         c.mux(s.encode(f))
    ...     c.mux(s.encode(None))
    >>> video_index(path).times.tolist()
    [0.0, 0.1, 0.2]
    """
    times = []
    with open_file(src) as container:
        if not container.streams.video:
            raise FuzzyError(src, "no video stream in this file")
        vin = main_video(container)
        declared = int(vin.frames or 0)
        try:
            for packet in container.demux(vin):
                if not packet.size:
                    continue
                if packet.pts is None:
                    raise FuzzyError(src, "video packets without timestamps; cannot cut it into segments")
                times.append(float(packet.pts * packet.time_base))
        except FuzzyError:
            raise
        except Exception as exc:
            raise FuzzyError(src, f"cannot read the video's packets ({why(exc)})") from None
    return VideoIndex(np.sort(np.asarray(times, np.float64)), declared)


class VideoReader:
    """The frames and audio packets of an open container, in order, as a plain iterator.

    Iterating yields :class:`Frame` objects and (when ``audio``) the packets
    (``av.Packet``) of every audio stream as they are demuxed. ``start``/``end``
    (seconds) cut a time range; ``live`` (a camera or stream: no frame count
    to check, an unreadable packet after the first frame ends the stream),
    ``max_frames`` and ``max_seconds`` stop early, and :meth:`stop` (from any
    thread) ends the iteration at the next packet. At the end of a file, a
    video with no decodable frame or fewer than it declares raises
    :class:`FuzzyError`. Closing the reader (``with``) closes the container.

    >>> import av, numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "grey.mkv")
    >>> with av.open(path, "w") as c:
    ...     s = c.add_stream("ffv1", rate=10); s.width, s.height, s.pix_fmt = 32, 16, "bgr0"
    ...     for i in range(3):
    ...         f = av.VideoFrame.from_ndarray(np.full((16, 32, 3), 99, np.uint8), "rgb24"); f.pts = i
    ...         c.mux(s.encode(f))
    ...     c.mux(s.encode(None))
    >>> with VideoReader(open_file(path), path) as r:
    ...     [(f.rgb.shape, f.time) for f in r]
    [((16, 32, 3), 0.0), ((16, 32, 3), 0.1), ((16, 32, 3), 0.2)]
    """

    def __init__(self, container, label, *, start: float | None = None, end: float | None = None,
                 audio: bool = True, live: bool = False, max_frames: int | None = None,
                 max_seconds: float | None = None, no_video: str = "no video stream in this file"):
        self.container = container
        self.label = label
        if not container.streams.video:
            container.close()
            raise FuzzyError(label, no_video)
        self.start, self.end = start, end
        self.live, self.max_frames, self.max_seconds = live, max_frames, max_seconds
        self.video = main_video(container)
        ctx = self.video.codec_context
        if (ctx.width or 0) * (ctx.height or 0) > MAX_FRAME_PIXELS:
            container.close()
            raise FuzzyError(label, f"video frames too large ({ctx.width}x{ctx.height}; limit {MAX_FRAME_PIXELS} "
                                    "pixels per frame); nothing written")
        self.video.thread_type = "AUTO"
        # Every audio stream (a second microphone, other languages), in the file's order.
        self.audio_streams = list(container.streams.audio) if audio else []
        self.audio = self.audio_streams[0] if self.audio_streams else None
        self.stopped = threading.Event()
        self.frames = 0  # decoded so far
        self.colour = Colour()  # the first decoded frame's (a writer converts back with it)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.container.close()

    def stop(self) -> None:
        """End the iteration at the next packet (thread-safe)."""
        self.stopped.set()

    @property
    def rate(self) -> Fraction:
        """The frame rate (average, else guessed, else 25)."""
        return self.video.average_rate or self.video.guessed_rate or Fraction(25)

    def estimated_frames(self) -> int | None:
        """How many frames iteration will give, if it can be known (for progress bars)."""
        if self.live:
            return self.max_frames
        vin = self.video
        rate = float(vin.average_rate or vin.guessed_rate or 0)
        duration = None
        if vin.duration is not None and vin.time_base:
            duration = float(vin.duration * vin.time_base)
        elif self.container.duration:
            duration = self.container.duration / 1e6
        if self.start is None and self.end is None and vin.frames:
            return int(vin.frames)
        if duration is None or not rate:
            return None
        span = min(self.end if self.end is not None else duration, duration) - (self.start or 0)
        return max(int(round(span * rate)), 0)

    def __iter__(self):
        vin = self.video
        streams = [vin] + self.audio_streams
        if self.start:
            try:
                self.container.seek(int(self.start / vin.time_base), stream=vin, backward=True)
            except Exception:  # not seekable: decode from the start and skip
                pass
        declared = vin.frames if not (self.start or self.end or self.live) else 0
        yield from self._decode(streams)
        n = self.frames
        if self.stopped.is_set():
            return
        if n == 0:
            span = " in that time range" if self.start or self.end else ""
            raise FuzzyError(self.label, f"no video frames could be decoded{span}; nothing written")
        if declared and declared - n > max(2, declared // 100):
            raise FuzzyError(self.label, f"truncated or corrupt: only {n} of {declared} frames "
                                         "could be decoded; nothing written")

    def _decode(self, streams):
        vin = self.video
        rate = self.rate
        t_first = None
        # AVI stores no presentation times: its packets count frames in storage order, and with
        # B-frames the decoder's frames carry those counts out of order (Megamind.avi: 1, 2, 3, 5,
        # 4, 6, 8, 7, ...), which put the rest of the video a frame behind its sound. The frames
        # come out in display order, so the n-th frame decoded is shown at the n-th smallest
        # packet time: the same times video_index() gives.
        counts: list[int] | None = [] if "avi" in self.container.format.name.split(",") else None
        try:
            for packet in self.container.demux(*streams):
                if self.stopped.is_set():
                    return
                if packet.stream is not vin:
                    if packet.size and packet.pts is not None:
                        if self.end is None or float(packet.pts * packet.time_base) < self.end:
                            yield packet
                    continue
                if counts is not None and packet.size and packet.pts is not None:
                    heapq.heappush(counts, int(packet.pts))
                try:
                    decoded = packet.decode()
                except Exception as exc:
                    if self.live and self.frames:
                        return
                    raise FuzzyError(self.label, f"corrupt video data near frame {self.frames + 1} ({why(exc)}); "
                                                 "nothing written") from None
                for frame in decoded:
                    if counts:  # AVI
                        pts = heapq.heappop(counts)
                        t = float(pts * vin.time_base)
                    else:
                        pts = frame.pts
                        t = float(frame.time) if pts is not None else self.frames / float(rate)
                    if self.start is not None and t < self.start - 1e-6:
                        continue
                    if self.end is not None and t >= self.end - 1e-6:
                        return
                    if t_first is None:
                        t_first = t
                    if self.max_seconds is not None and t - t_first >= self.max_seconds:
                        return
                    if not self.frames:
                        self.colour = Colour(int(frame.colorspace), int(frame.color_primaries), int(frame.color_trc))
                    rgb = frame.to_ndarray(format="rgb24")  # with the frame's own matrix and range
                    yield Frame(rgb, pts, t, frame.rotation)
                    self.frames += 1
                    if self.max_frames is not None and self.frames >= self.max_frames:
                        return
        except FuzzyError:
            raise
        except Exception as exc:
            if self.live and self.frames:
                return  # a stream that ends badly still gives what was recorded
            raise FuzzyError(self.label, f"cannot read the video past frame {self.frames} ({why(exc)}); "
                                         "nothing written") from None


class _AudioTrack:
    """One audio stream of the output: ``ain``'s packets copied (timestamps moved back by the seconds
    cut from the start), or decoded, resampled and re-encoded.

    A damaged packet is replaced by silence of its length, as ffmpeg does (an AVI's AC-3 track
    often starts in the middle of a frame), so the sound stays in step with the picture; a track
    none of whose packets decode is an error naming the file, with ``label``.
    """

    def __init__(self, ain, out, copy: bool, label: str = ""):
        import av

        self.ain, self.out, self.copy, self.label = ain, out, copy, label
        self.samples = 0  # written so far (re-encoding): the next frame's pts
        self.decoded = self.damaged = 0  # packets (re-encoding)
        self.owed, self.last = 0, None  # samples of silence owed for damaged packets; the last decoded frame
        self.resampler = None
        if not copy:
            ac = out.codec_context
            self.resampler = av.AudioResampler(format=ac.format, layout=ac.layout, rate=ac.sample_rate,
                                               frame_size=ac.frame_size or None)

    def write(self, container, packet, offset: float) -> None:
        """Mux one packet of ``ain`` into ``container``; ``offset``: seconds cut from the start."""
        if not self.copy:
            import av

            try:
                frames = self.ain.codec_context.decode(packet)
            except av.error.InvalidDataError:
                self.damaged += 1
                self.owed += self._length(packet)
                frames = []
            else:
                self.decoded += 1
            for frame in frames:
                self._pay_silence(container, frame)  # for the damaged packets before it, shaped like it
                self._encode(container, self.resampler.resample(frame))
                self.last = frame
            self._pay_silence(container, self.last)
            return
        shift = int(round(offset / packet.time_base))
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        else:
            packet.dts = packet.pts
        packet.stream = self.out
        container.mux(packet)

    def _pay_silence(self, container, like) -> None:
        """Encode the silence owed for damaged packets, shaped like the decoded frame ``like`` (none yet: later)."""
        if self.owed and like is not None:
            self._encode(container, self.resampler.resample(self._silence(like, self.owed)))
            self.owed = 0

    def _length(self, packet) -> int:
        """Samples in ``packet`` (its duration, else one codec frame) at the input's rate."""
        ctx = self.ain.codec_context
        n = int(round(packet.duration * packet.time_base * ctx.sample_rate)) \
            if packet.duration and packet.time_base and ctx.sample_rate else 0
        return n or ctx.frame_size or 0

    @staticmethod
    def _silence(like, samples: int):
        """``samples`` of silence in the format, layout and rate of the decoded frame ``like``."""
        import av

        frame = av.AudioFrame(format=like.format.name, layout=like.layout.name, samples=samples)
        quiet = b"\x80" if like.format.name.startswith("u8") else b"\x00"  # unsigned 8-bit is silent at 128
        for plane in frame.planes:
            plane.update(quiet * plane.buffer_size)
        frame.sample_rate = like.sample_rate
        return frame

    def finish(self, container) -> None:
        """Flush the resampler and the encoder (re-encoding only)."""
        if self.copy:
            return
        if self.damaged and not self.decoded:
            raise FuzzyError(self.label, f"cannot decode audio stream {self.ain.index} ({self.ain.codec_context.name}): "
                                         f"all {self.damaged} packets are damaged; try --no-audio; nothing written")
        self._encode(container, self.resampler.resample(None))
        for p in self.out.encode(None):
            container.mux(p)

    def _encode(self, container, frames) -> None:
        for rs in frames:
            rs.pts = self.samples
            rs.time_base = Fraction(1, self.out.codec_context.sample_rate)
            self.samples += rs.samples
            for p in self.out.encode(rs):
                container.mux(p)


class VideoWriter:
    """Write frames, with every audio stream of ``source`` passed through, to ``dst`` atomically.

    Use as a context manager: :meth:`begin` once (frame size, rotation and the
    seconds cut from the start), then :meth:`write` frames and :meth:`audio`
    packets of ``source.audio_streams`` in any interleaving (audio that arrives before
    :meth:`begin` waits for it), then :meth:`finish` (or leave the ``with``
    block normally). Leaving it by an exception discards the file.
    Frame rate, time base, tags and language come from ``source`` (a
    :class:`VideoReader`); tags are kept only with ``keep_metadata``, location
    tags only with ``keep_gps`` too.
    """

    def __init__(self, dst: str | Path, source: VideoReader, *, codec: str | None = None, crf: int | None = None,
                 keep_metadata: bool = False, keep_gps: bool = False, mask: bool = False):
        self.dst = Path(dst)
        self.ext = self.dst.suffix.lower()
        self.source = source
        # A mask video (``mask=True``): lossless greyscale FFV1 (white = hidden), same
        # frames and timestamps as the output, no audio, no metadata; write() takes HxW masks.
        self.mask = mask
        if mask:
            codec, crf, keep_metadata = "ffv1", None, False
        self.codec, self.crf = codec, crf
        self.keep_metadata, self.keep_gps = keep_metadata, keep_gps
        try:
            choose_encoding(self.ext, codec, crf)  # fail before decoding anything
        except ValueError as exc:
            raise FuzzyError(self.dst, str(exc)) from None
        self.written = 0
        self.out = None
        self._atomic = None
        self._finished = False

    # -- context -----------------------------------------------------------------
    def __enter__(self) -> VideoWriter:
        import av

        self._atomic = atomic_path(self.dst)
        tmp = self._atomic.__enter__()
        options = {"fflags": "+bitexact"}
        if self.ext == ".avi":
            # AVI has only a frame counter: shifting all timestamps for the audio
            # encoder's priming delay would move the video by a frame.
            options["avoid_negative_ts"] = "disabled"
        if self.ext in (".mp4", ".mov", ".m4v"):
            options["movflags"] = "+faststart"
            # The edit list that delays a video starting after 0 (Megamind.avi's first frame is
            # at 41.7 ms) is written in the movie's timescale, 1000 by default: every frame
            # came out up to 1 ms early (41.04 ms). 90 kHz keeps each time to a track tick.
            options["movie_timescale"] = "90000"
        try:
            self.out = av.open(str(tmp), mode="w", container_options=options)
        except BaseException as exc:
            self._atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self.vout = None
        self.tracks: dict = {}  # input audio stream index -> _AudioTrack
        self.matrix = None  # begin(): the colour matrix frames are converted back with (None: PyAV's default)
        self.strip_sei = False
        self.bsf: list = []  # [BitStreamFilterContext] once the encoder is open
        self.offset = 0.0  # seconds cut from the start (--start, live)
        self.early_audio: list = []
        self.last_pts = None
        self.vtb = None
        self.cfr = self.ext == ".avi"
        self.copying = False  # begin_copy: packets come encoded
        self.tmp = tmp  # the file being written, renamed to dst when the with block ends
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                if not self._finished:
                    self.finish()
                self._close()
            except BaseException as e:  # nothing half-written stays behind
                with contextlib.suppress(Exception):
                    self._close()
                self._atomic.__exit__(type(e), e, e.__traceback__)
                raise
        else:
            with contextlib.suppress(Exception):
                self._close()
        return self._atomic.__exit__(exc_type, exc, tb)

    def _close(self) -> None:
        out, self.out = self.out, None
        if out is not None:
            out.close()

    # -- frames and audio --------------------------------------------------------
    def begin(self, shape: tuple[int, ...], rotation: float = 0, offset: float = 0.0) -> None:
        """Open the encoder for ``(h, w, ...)`` frames shown rotated by ``rotation`` degrees."""
        src = self.source
        self.offset = offset
        h, w = shape[:2]
        enc = choose_encoding(self.ext, self.codec, self.crf, (w, h))
        if self.cfr:
            enc.options["bf"] = "0"  # AVI has no timestamps to reorder B-frames by
        rate = src.rate
        out = self.out
        vout = self.vout = out.add_stream(enc.codec, rate=rate, options=enc.options)
        vout.width, vout.height, vout.pix_fmt = w, h, "gray" if self.mask else enc.pix_fmt
        vtb = Fraction(1, 1) / rate if self.cfr else src.video.time_base
        if vtb is None:
            vtb = Fraction(1, 90000)
        self.vtb = vtb
        vout.codec_context.time_base = vtb
        vout.time_base = vtb
        self.strip_sei = enc.codec == "libx264"
        # Anamorphic video (DV, DVD, broadcast: 720x576 shown 16:9) keeps its pixel shape.
        sar = src.video.codec_context.sample_aspect_ratio or src.video.sample_aspect_ratio
        if sar and sar != 1:
            vout.codec_context.sample_aspect_ratio = sar
        colour = src.colour
        self.matrix = None if self.mask else colour.matrix
        if self.matrix is not None:  # converted back with the source's matrix, in limited range, and tagged so
            ctx = vout.codec_context
            ctx.colorspace, ctx.color_range = colour.space, 1  # AVCOL_RANGE_MPEG
            if colour.primaries != 2:
                ctx.color_primaries = colour.primaries
            if colour.trc != 2:
                ctx.color_trc = colour.trc
        self._begin_streams(rotation)

    def begin_copy(self, template, rotation: float = 0, offset: float = 0.0) -> None:
        """Like :meth:`begin`, for video packets already encoded, given to :meth:`copy`.

        ``template`` is the video stream of a file written by a VideoWriter
        with the same settings and the same ``source`` (a segment of it, see
        :mod:`fuzzypeople.pipeline.segments`); its codec parameters are taken
        as they are. Timestamps are moved back by ``offset`` seconds.
        """
        self.offset = offset
        self.copying = True
        out = self.out
        vout = self.vout = out.add_stream_from_template(template)
        vout.metadata.clear()
        vout.codec_context.framerate = self.source.rate  # the stream's average rate, as begin() gives it
        vtb = Fraction(1, 1) / self.source.rate if self.cfr else self.source.video.time_base
        self.vtb = vout.time_base = vtb or Fraction(1, 90000)
        self._begin_streams(rotation)

    def _begin_streams(self, rotation: float) -> None:
        """Rotation, tags and the audio streams, once the video stream exists; then the audio that waited."""
        src, out, vout = self.source, self.out, self.vout
        if rotation:
            vout.set_display_rotation(int(round(rotation)))
        if self.keep_metadata:
            out.metadata.update(self._tags(src.container.metadata))
            vout.metadata.update(self._tags(src.video.metadata))
        if src.video.language:
            vout.metadata["language"] = src.video.language
        if not self.mask:
            for ain in src.audio_streams:
                self.tracks[ain.index] = self._add_audio(out, ain)
        early, self.early_audio = self.early_audio, []
        for packet in early:
            self._mux_audio(packet)

    def copy(self, packet) -> None:
        """Mux one encoded video packet (after :meth:`begin_copy`); its ``time_base`` must be set."""
        if self.offset:
            shift = int(round(self.offset / packet.time_base))
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
        packet.stream = self.vout
        self.out.mux(packet)
        self.written += 1

    def audio(self, packet) -> None:
        """Pass one packet of one of ``source.audio_streams`` through (copied or re-encoded)."""
        if not self.source.audio_streams or self.mask:
            return
        if self.vout is None:
            self.early_audio.append(packet)
            return
        self._mux_audio(packet)

    def write(self, rgb: np.ndarray, pts: int | None, t: float) -> None:
        """Encode one RGB frame (a mask writer: one HxW mask) shown at ``t`` seconds (``pts`` in the source's time base, if any)."""
        import av

        if self.mask:
            frame = av.VideoFrame.from_ndarray(np.where(rgb, np.uint8(255), np.uint8(0)), format="gray")
        else:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if self.matrix is not None:
                frame = frame.reformat(format=self.vout.pix_fmt, dst_colorspace=self.matrix, dst_color_range="MPEG")
        if self.cfr:
            p = int(round(t * self.source.rate))
        else:
            p = int(round(t / self.vtb)) if pts is None or self.offset else int(pts)
        if self.last_pts is not None and p <= self.last_pts:
            p = self.last_pts + 1
        self.last_pts = p
        frame.pts, frame.time_base = p, self.vtb
        for packet in self.vout.encode(frame):
            if self.strip_sei and not self.bsf:
                self.bsf.append(self._sei_filter(self.vout))
            self._mux_video(packet)
        self.written += 1

    def finish(self) -> None:
        """Flush the encoders and close the file (renamed into place when the ``with`` block ends)."""
        out, vout, bsf = self.out, self.vout, self.bsf
        if vout is not None and not self.copying:
            for packet in vout.encode(None):
                if self.strip_sei and not bsf:
                    bsf.append(self._sei_filter(vout))
                self._mux_video(packet)
            if bsf and bsf[0] is not None:
                for packet in bsf[0].filter(None):
                    packet.stream = vout
                    out.mux(packet)
        for track in self.tracks.values():
            track.finish(out)
        self._finished = True
        self._close()

    # -- helpers ------------------------------------------------------------------
    def _mux_audio(self, packet) -> None:
        if packet.pts is None:
            return
        track = self.tracks.get(packet.stream.index)
        if track is not None and float(packet.pts * packet.time_base) >= self.offset - 1e-6:
            track.write(self.out, packet, self.offset)

    @staticmethod
    def _sei_filter(vout):
        """Drops SEI NAL units: x264 writes its version and every option there."""
        import av

        try:
            return av.bitstream.BitStreamFilterContext("filter_units=remove_types=6", vout)
        except Exception:
            return None

    def _mux_video(self, packet) -> None:
        bsf = self.bsf
        if not bsf or bsf[0] is None:
            self.out.mux(packet)
            return
        stream = packet.stream
        for p in bsf[0].filter(packet):
            p.stream = stream
            self.out.mux(p)

    def _add_audio(self, out, ain) -> _AudioTrack:
        """The output stream for audio stream ``ain``: a copy of it, else an encoder."""
        name = ain.codec_context.name
        if name in AUDIO_COPY.get(self.ext, set()):
            aout = out.add_stream_from_template(ain)
            aout.metadata.clear()
            if ain.language:
                aout.metadata["language"] = ain.language
            return _AudioTrack(ain, aout, copy=True, label=self.source.label)
        codec, rate = AUDIO_ENCODE.get(self.ext, ("aac", None))
        rate = rate or ain.codec_context.sample_rate or 48000
        aout = out.add_stream(codec, rate=rate)
        layout = ain.codec_context.layout
        if layout is not None and layout.nb_channels <= 2:
            aout.codec_context.layout = layout
        else:
            aout.codec_context.layout = "stereo"
        if ain.language:
            aout.metadata["language"] = ain.language
        return _AudioTrack(ain, aout, copy=False, label=self.source.label)

    def _tags(self, tags: dict) -> dict:
        if self.keep_gps:
            return dict(tags)
        return {k: v for k, v in tags.items() if not LOCATION_KEYS.search(k)}
