"""Video in and out: decode, hide every person on every frame, encode; streamed.

:func:`anonymize_video` reads a video with PyAV (ffmpeg inside the wheel),
runs frames through :class:`fuzzypeople.track.TemporalMasker` (detection
cadence, tracking, gap filling, fail-safe) and writes a new file that keeps
what a viewer needs and nothing else:

* kept: frame count, frame rate and each frame's timestamp (variable frame
  rate stays variable), resolution, rotation (display matrix), the audio
  (packets copied as they are when the output container takes the codec,
  else re-encoded to AAC, or Opus for WebM; ``audio=False`` drops it);
* stripped unless ``keep_metadata``: container and stream tags (title,
  location, creation_time, encoder and comments); location tags stay stripped
  without ``keep_gps`` too. The muxer runs bit-exact (no ``Lavf`` tag) and
  x264's version/options SEI is removed from the bitstream;
* memory is flat: three threads (decode, analyse+hide, encode) joined by
  short queues, and at most ``every + lookahead`` frames waiting for masks;
* written atomically: a failure anywhere leaves no output file.

Encoding defaults (all overridable): H.264 (libx264, yuv420p, CRF 20,
preset ``veryfast``) for .mp4/.mov/.mkv/.m4v, VP9 (libvpx-vp9, CRF 32,
realtime) for .webm, MPEG-4 Part 2 (quantiser 3, no B-frames) for .avi (H.264
in AVI reads back with shifted timestamps). The same scramble field is used on every frame (one seed
per video, random unless given), so averaging frames reveals nothing new.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import random
import re
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import FuzzyError
from ..track import DEFAULT_HOLD, DEFAULT_LOOKAHEAD, AnalysisError, TemporalMasker, scaled
from .atomic import atomic_path
from .paths import check_distinct, default_output

EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")

DEFAULT_EVERY = 4  # run the detector on every 4th frame; see benchmarks/video_recall.py
# Video analyses only every N-th frame, so it affords less tiling than photos: tiles
# at native size (see benchmarks/video_recall.py and video_speed.py).
DEFAULT_TILE_SCALE = 1.0
# Analyse frames shrunk to this max side (None = full size). Shrinking to 512 cost
# nothing with CenterNet but loses 2.5% of people with the tiled NanoDet stack
# (benchmarks/video_recall.py), so frames are analysed at full size.
DEFAULT_DETECT_SIZE: int | None = None

# Video encoder per output extension, and each encoder's quality default and options.
VIDEO_CODEC = {".webm": "libvpx-vp9", ".avi": "mpeg4"}  # everything else: libx264
DEFAULT_VIDEO_CODEC = "libx264"
ENCODER_OPTIONS = {
    "libx264": ({"preset": "veryfast"}, 20),
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
QUEUE = 8  # frames in flight between threads


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
    w, h = size
    # 4:2:0 needs even sizes; odd ones keep their size in 4:4:4 (x264/x265 only).
    pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 or name not in ("libx264", "libx265") else "yuv444p"
    return Encoding(name, pix_fmt, options)


def anonymize_video(
    anon,
    src: str | Path,
    dst: str | Path | None = None,
    *,
    keep_metadata: bool = False,
    keep_gps: bool = False,
    quiet: bool = False,
    audio: bool = True,
    crf: int | None = None,
    codec: str | None = None,
    start: float | str | None = None,
    end: float | str | None = None,
    every: int = DEFAULT_EVERY,
    detect_size: int | None = DEFAULT_DETECT_SIZE,
    hold: int = DEFAULT_HOLD,
    lookahead: int = DEFAULT_LOOKAHEAD,
    seed: int | None = None,
):
    """Anonymise one video file into ``dst`` (default ``NAME_anonymized.EXT``).

    Args:
        anon: a :class:`fuzzypeople.Anonymizer` (its method, targets and
            ``fail_safe`` apply; its detector runs on every ``every``-th frame).
        keep_metadata / keep_gps: keep container tags (location only with both).
        audio: keep the audio stream (copied if the container allows, else AAC/Opus).
        crf / codec: video quality and encoder (see :func:`choose_encoding`).
        start / end: process only this time range (seconds or ``[HH:]MM:SS``).
        every / hold / lookahead: see :class:`fuzzypeople.track.TemporalMasker`.
        detect_size: analyse frames shrunk to this max side (None = full size).
        seed: scramble seed for the whole video (default: ``anon``'s, else random).

    Returns a :class:`fuzzypeople.api.Result`; raises :class:`FuzzyError` (one
    line, nothing written) when the input cannot be read or analysed.
    """
    import av

    t0 = time.perf_counter()
    src = Path(src)
    dst = Path(dst) if dst is not None else default_output(src)
    check_distinct(src, dst)
    try:
        start, end = parse_time(start), parse_time(end)
    except ValueError as exc:
        raise FuzzyError(src, str(exc)) from None
    if start is not None and end is not None and end <= start:
        raise FuzzyError(src, f"--end ({end:g} s) must be after --start ({start:g} s)")
    if not src.exists():
        raise FuzzyError(src, "no such file")
    if src.is_dir():
        raise FuzzyError(src, "is a folder, not a video")
    if src.stat().st_size == 0:
        raise FuzzyError(src, "empty file (0 bytes), not a video")
    if anon.method == "none":
        raise FuzzyError(src, "--method none hides nothing, and videos get no mask file; choose a method")
    ext = dst.suffix.lower()
    if ext not in EXTENSIONS:
        raise FuzzyError(dst, f"cannot write video as {ext or 'no extension'}; use one of {' '.join(EXTENSIONS)}")
    try:
        inp = av.open(str(src), metadata_errors="ignore")
    except Exception as exc:
        raise FuzzyError(src, f"not a readable video ({_why(exc)})") from None
    with inp:
        if not inp.streams.video:
            raise FuzzyError(src, "no video stream in this file")
        job = _Job(anon, inp, src, dst, keep_metadata=keep_metadata, keep_gps=keep_gps, quiet=quiet,
                   audio=audio, crf=crf, codec=codec, start=start, end=end, every=every, detect_size=detect_size, hold=hold,
                   lookahead=lookahead, seed=seed)
        people, share = job.run()
    from ..api import Result

    return Result(src, dst, people, share, time.perf_counter() - t0)


def _why(exc: BaseException) -> str:
    """A short reason from an ffmpeg/PyAV exception."""
    msg = getattr(exc, "strerror", None) or str(exc)
    msg = re.sub(r"\[Errno -?\d+\]\s*", "", str(msg))
    msg = msg.split(";")[0].strip().rstrip(":")
    if msg.endswith(("'", '"')) and ": '" in msg:  # "...: '/path/to/file'"
        msg = msg.rsplit(": '", 1)[0]
    return " ".join(msg.split()) or type(exc).__name__


class _Stop(Exception):
    pass


class _Job:
    """One video, from open input container to finished output file."""

    def __init__(self, anon, inp, label, dst: Path, *, keep_metadata=False, keep_gps=False, quiet=False,
                 audio=True, crf=None, codec=None, start=None, end=None, every=DEFAULT_EVERY, detect_size=DEFAULT_DETECT_SIZE,
                 hold=DEFAULT_HOLD, lookahead=DEFAULT_LOOKAHEAD, seed=None, live=False,
                 max_frames=None, max_seconds=None, stop: threading.Event | None = None):
        self.anon = anon
        self.inp = inp
        self.label = label
        self.dst = Path(dst)
        self.ext = self.dst.suffix.lower()
        self.keep_metadata, self.keep_gps, self.quiet = keep_metadata, keep_gps, quiet
        self.crf, self.codec = crf, codec
        self.start, self.end = start, end
        self.live, self.max_frames, self.max_seconds = live, max_frames, max_seconds
        self.stop = stop or threading.Event()
        self.vin = inp.streams.video[0]
        self.ain = inp.streams.audio[0] if audio and inp.streams.audio else None
        self.vin.thread_type = "AUTO"
        if seed is None:
            seed = anon.params.seed if anon.params.seed is not None else random.SystemRandom().getrandbits(63)
        self.params = dataclasses.replace(anon.params, seed=int(seed))
        self.masker = TemporalMasker(scaled(anon.detect, detect_size), anon.mask, every=every, hold=hold, lookahead=lookahead,
                                     fail_safe=anon.fail_safe, pad=anon.dilate + anon.feather)
        try:
            choose_encoding(self.ext, codec, crf)  # fail before decoding anything
        except ValueError as exc:
            raise FuzzyError(self.dst, str(exc)) from None
        self.hidden_sum = 0.0
        self.written = 0

    # -- the three stages ------------------------------------------------------
    def run(self) -> tuple[int, float]:
        frames: queue.Queue = queue.Queue(QUEUE)
        hidden: queue.Queue = queue.Queue(QUEUE)
        errors: list[BaseException] = []
        with atomic_path(self.dst) as tmp:
            reader = threading.Thread(target=self._guard, args=(self._read, frames, errors), daemon=True)
            writer = threading.Thread(target=self._guard, args=(self._write, hidden, errors, tmp), daemon=True)
            reader.start()
            writer.start()
            try:
                with self._progress() as advance:
                    self._analyse(frames, hidden, errors, advance, reader)
            except BaseException:
                self.stop.set()
                _drain(frames)
                _put(hidden, ("abort", None), errors)
                writer.join(10)
                reader.join(10)
                raise
            _put(hidden, ("end", None), errors)
            writer.join()
            reader.join()
            if errors:
                raise errors[0]
        frames_out = max(self.written, 1)
        return self.masker.people, self.hidden_sum / frames_out

    @staticmethod
    def _guard(fn, q, errors, *args):
        try:
            fn(q, errors, *args)
        except _Stop:
            pass
        except BaseException as exc:  # handed to the main thread
            errors.append(exc)
            if fn.__name__ == "_read":
                with contextlib.suppress(queue.Full):
                    q.put(("error", exc), timeout=1)

    def _read(self, out: queue.Queue, errors) -> None:
        """Demux and decode; frames (as RGB) and audio packets go to ``out`` in order."""
        vin = self.vin
        streams = [vin] + ([self.ain] if self.ain else [])
        if self.start:
            try:
                self.inp.seek(int(self.start / vin.time_base), stream=vin, backward=True)
            except Exception:  # not seekable: decode from the start and skip
                pass
        declared = vin.frames if not (self.start or self.end or self.live) else 0
        n = self._decode(out, errors, streams)
        if n == 0:
            span = " in that time range" if self.start or self.end else ""
            raise FuzzyError(self.label, f"no video frames could be decoded{span}; nothing written")
        if declared and declared - n > max(2, declared // 100):
            raise FuzzyError(self.label, f"truncated or corrupt: only {n} of {declared} frames "
                                         "could be decoded; nothing written")
        _put(out, ("end", n), errors, self.stop)

    def _decode(self, out: queue.Queue, errors, streams) -> int:
        vin = self.vin
        n = 0
        rate = vin.average_rate or vin.guessed_rate or Fraction(25)
        t_first = None
        try:
            for packet in self.inp.demux(*streams):
                if self.stop.is_set():
                    return n
                if packet.stream is not vin:
                    if packet.size and packet.pts is not None:
                        _put(out, ("a", packet), errors, self.stop)
                    continue
                try:
                    decoded = packet.decode()
                except Exception as exc:
                    if self.live and n:
                        return n
                    raise FuzzyError(self.label, f"corrupt video data near frame {n + 1} ({_why(exc)}); "
                                                 "nothing written") from None
                for frame in decoded:
                    t = float(frame.time) if frame.pts is not None else n / float(rate)
                    if self.start is not None and t < self.start - 1e-6:
                        continue
                    if self.end is not None and t >= self.end - 1e-6:
                        return n
                    if t_first is None:
                        t_first = t
                    if self.max_seconds is not None and t - t_first >= self.max_seconds:
                        return n
                    rgb = frame.to_ndarray(format="rgb24")
                    _put(out, ("v", (rgb, frame.pts, t, frame.rotation)), errors, self.stop)
                    n += 1
                    if self.max_frames is not None and n >= self.max_frames:
                        return n
        except (FuzzyError, _Stop):
            raise
        except Exception as exc:
            if self.live and n:
                return n  # a stream that ends badly still gives what was recorded
            raise FuzzyError(self.label, f"cannot read the video past frame {n} ({_why(exc)}); "
                                         "nothing written") from None
        return n

    def _analyse(self, frames: queue.Queue, hidden: queue.Queue, errors, advance, reader=None) -> None:
        """Detect, track and hide; runs on the calling thread."""
        anon, masker = self.anon, self.masker
        rot_k = None
        first_t = None

        def emit(ready):
            for (rgb, pts, t, k), mask in ready:
                if k:
                    mask = np.ascontiguousarray(np.rot90(mask, -k))
                self.hidden_sum += float(mask.mean())
                out = anon.hide(rgb, mask, self.params) if anon.method != "none" else rgb
                _put(hidden, ("v", (out, pts, t - first_t, k)), errors)
                advance()

        while True:
            try:
                try:
                    kind, payload = frames.get(timeout=0.5)
                except queue.Empty:
                    if reader is None or reader.is_alive() or not frames.empty():
                        continue
                    if errors:  # the reader died and could not say so
                        raise errors[0] from None
                    kind, payload = "end", None
            except KeyboardInterrupt:
                if not self.live or first_t is None:
                    raise
                self.stop.set()  # a live recording stops on Ctrl-C and keeps what it has
                break
            if kind == "error":
                raise payload
            if kind == "end":
                break
            if kind == "a":
                _put(hidden, ("a", payload), errors)
                continue
            rgb, pts, t, rotation = payload
            if first_t is None:
                first_t = t if self.start is not None or self.live else 0.0
                rot_k = int(round((rotation or 0) / 90)) % 4
                _put(hidden, ("start", (rgb.shape, rotation or 0, first_t)), errors)
            view = np.ascontiguousarray(np.rot90(rgb, rot_k)) if rot_k else rgb
            try:
                emit(masker.push((rgb, pts, t, rot_k), view))
            except AnalysisError as exc:
                raise FuzzyError(self.label, f"{exc}; nothing written (use --fail-safe to hide such frames whole)") from None
            if errors:
                break
        if errors:
            raise errors[0]
        try:
            emit(masker.flush())
        except AnalysisError as exc:
            raise FuzzyError(self.label, f"{exc}; nothing written (use --fail-safe to hide such frames whole)") from None

    def _write(self, inq: queue.Queue, errors, tmp: Path) -> None:
        """Encode frames and mux them with the audio, in a thread."""
        import av

        options = {"fflags": "+bitexact"}
        if self.ext == ".avi":
            # AVI has only a frame counter: shifting all timestamps for the audio
            # encoder's priming delay would move the video by a frame.
            options["avoid_negative_ts"] = "disabled"
        if self.ext in (".mp4", ".mov", ".m4v"):
            options["movflags"] = "+faststart"
        out = av.open(str(tmp), mode="w", container_options=options)
        try:
            vout = aout = None
            strip_sei = False
            bsf: list = []  # [BitStreamFilterContext] once the encoder is open
            audio_copy = False
            decoder = resampler = None
            offset = 0.0  # seconds cut from the start (--start, live)
            early_audio: list = []
            last_pts = None
            vtb = None
            cfr = self.ext == ".avi"
            rate = self.vin.average_rate or self.vin.guessed_rate or Fraction(25)
            audio_samples = 0

            def mux_audio(packet):
                nonlocal decoder, resampler, audio_samples
                if packet.pts is None:
                    return
                tb = packet.time_base
                t = float(packet.pts * tb)
                if self.end is not None and t >= self.end:
                    return
                if t < offset - 1e-6:
                    return
                if audio_copy:
                    shift = int(round(offset / tb))
                    packet.pts -= shift
                    if packet.dts is not None:
                        packet.dts -= shift
                    else:
                        packet.dts = packet.pts
                    packet.stream = aout
                    out.mux(packet)
                    return
                for frame in self.ain.codec_context.decode(packet):
                    for rs in resampler.resample(frame):
                        rs.pts = audio_samples
                        rs.time_base = Fraction(1, aout.codec_context.sample_rate)
                        audio_samples += rs.samples
                        for p in aout.encode(rs):
                            out.mux(p)

            while True:
                kind, payload = inq.get()
                if kind == "abort":
                    return
                if kind == "start":
                    (h, w, _), rotation, offset = payload
                    enc = choose_encoding(self.ext, self.codec, self.crf, (w, h))
                    if cfr:
                        enc.options["bf"] = "0"  # AVI has no timestamps to reorder B-frames by
                    vout = out.add_stream(enc.codec, rate=rate, options=enc.options)
                    vout.width, vout.height, vout.pix_fmt = w, h, enc.pix_fmt
                    vtb = Fraction(1, 1) / rate if cfr else self.vin.time_base
                    if vtb is None:
                        vtb = Fraction(1, 90000)
                    vout.codec_context.time_base = vtb
                    vout.time_base = vtb
                    if rotation:
                        vout.set_display_rotation(int(round(rotation)))
                    if self.keep_metadata:
                        out.metadata.update(self._tags(self.inp.metadata))
                        vout.metadata.update(self._tags(self.vin.metadata))
                    if self.vin.language:
                        vout.metadata["language"] = self.vin.language
                    if self.ain is not None:
                        aout, audio_copy = self._add_audio(out)
                        if not audio_copy:
                            ac = aout.codec_context
                            resampler = av.AudioResampler(format=ac.format, layout=ac.layout, rate=ac.sample_rate,
                                                          frame_size=ac.frame_size or None)
                    strip_sei = enc.codec == "libx264"
                    for packet in early_audio:
                        mux_audio(packet)
                    early_audio = []
                    continue
                if kind == "a":
                    if self.ain is None:
                        continue
                    if vout is None:
                        early_audio.append(payload)
                        continue
                    mux_audio(payload)
                    continue
                if kind == "end":
                    break
                rgb, pts, t, _ = payload
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                if cfr:
                    p = int(round(t * rate))
                else:
                    p = int(round(t / vtb)) if pts is None or offset else int(pts)
                if last_pts is not None and p <= last_pts:
                    p = last_pts + 1
                last_pts = p
                frame.pts, frame.time_base = p, vtb
                for packet in vout.encode(frame):
                    if strip_sei and not bsf:
                        bsf.append(self._sei_filter(vout))
                    self._mux_video(out, packet, bsf)
                self.written += 1
            if vout is not None:
                for packet in vout.encode(None):
                    if strip_sei and not bsf:
                        bsf.append(self._sei_filter(vout))
                    self._mux_video(out, packet, bsf)
                if bsf and bsf[0] is not None:
                    for packet in bsf[0].filter(None):
                        packet.stream = vout
                        out.mux(packet)
            if aout is not None and not audio_copy:
                for frame in resampler.resample(None):
                    frame.pts = audio_samples
                    audio_samples += frame.samples
                    for p in aout.encode(frame):
                        out.mux(p)
                for p in aout.encode(None):
                    out.mux(p)
        finally:
            out.close()

    @staticmethod
    def _sei_filter(vout):
        """Drops SEI NAL units: x264 writes its version and every option there."""
        import av

        try:
            return av.bitstream.BitStreamFilterContext("filter_units=remove_types=6", vout)
        except Exception:
            return None

    def _mux_video(self, out, packet, bsf) -> None:
        if not bsf or bsf[0] is None:
            out.mux(packet)
            return
        stream = packet.stream
        for p in bsf[0].filter(packet):
            p.stream = stream
            out.mux(p)

    def _add_audio(self, out):
        """The output audio stream: a copy of the input's, else an encoder."""
        ain = self.ain
        name = ain.codec_context.name
        if name in AUDIO_COPY.get(self.ext, set()):
            aout = out.add_stream_from_template(ain)
            aout.metadata.clear()
            if ain.language:
                aout.metadata["language"] = ain.language
            return aout, True
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
        return aout, False

    def _tags(self, tags: dict) -> dict:
        if self.keep_gps:
            return dict(tags)
        return {k: v for k, v in tags.items() if not LOCATION_KEYS.search(k)}

    # -- progress ----------------------------------------------------------------
    def _total(self) -> int | None:
        if self.live:
            return self.max_frames
        vin = self.vin
        rate = float(vin.average_rate or vin.guessed_rate or 0)
        duration = None
        if vin.duration is not None and vin.time_base:
            duration = float(vin.duration * vin.time_base)
        elif self.inp.duration:
            duration = self.inp.duration / 1e6
        if self.start is None and self.end is None and vin.frames:
            return int(vin.frames)
        if duration is None or not rate:
            return None
        span = min(self.end if self.end is not None else duration, duration) - (self.start or 0)
        return max(int(round(span * rate)), 0)

    @contextlib.contextmanager
    def _progress(self):
        if self.quiet:
            yield lambda: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
        from rich.text import Text

        class Fps(ProgressColumn):
            def render(self, task):
                return Text(f"{task.speed:5.1f} frames/s" if task.speed else "  ... frames/s")

        from rich.console import Console

        with Progress(TextColumn(f"{Path(str(self.label)).name}"), BarColumn(), MofNCompleteColumn(), Fps(),
                      TimeRemainingColumn(), transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task("frames", total=self._total())
            yield lambda: bar.advance(task)


def _put(q: queue.Queue, item, errors, stop: threading.Event | None = None, block: bool = True) -> None:
    """Put without deadlocking when the other side has died."""
    while True:
        try:
            q.put(item, timeout=0.2)
            return
        except queue.Full:
            if not block or errors or (stop is not None and stop.is_set()):
                if stop is not None and stop.is_set() and block:
                    raise _Stop
                return


def _drain(q: queue.Queue) -> None:
    with contextlib.suppress(queue.Empty):
        while True:
            q.get_nowait()
