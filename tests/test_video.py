"""Video in and out, temporal safety, and the cam command.

Videos are generated here with PyAV: the astronaut walking across a plain
background, with a sine-wave audio track. Small frames, few frames.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data

from fuzzypeople.people import People

CMD = [sys.executable, "-m", "fuzzypeople"]
W, H = 192, 144
MAGENTA = (255, 0, 255)


def run(*args, cwd=None):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def person_box(i: int, frames: int) -> tuple[int, int, int, int]:
    """Where make_video puts the astronaut on frame ``i``: x1, y1, x2, y2."""
    side = H * 2 // 3
    x = int((W - side) * i / max(frames - 1, 1))
    return x, H - side, x + side, H


def make_video(path, frames=12, fps=10, audio=True, vfr=False, rotation=0, metadata=None, codec="libx264"):
    """Write a test video; returns its frames' timestamps in seconds."""
    side = H * 2 // 3
    person = cv2.resize(data.astronaut()[:400, 60:460], (side, side), interpolation=cv2.INTER_AREA)
    bg = np.zeros((H, W, 3), np.uint8)
    bg[:] = (40, 90, 40)
    bg[H // 2 :] = (120, 110, 100)
    out = av.open(str(path), "w")
    out.metadata.update(metadata or {})
    vs = out.add_stream(codec, rate=fps)
    vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
    tb = Fraction(1, 1000) if vfr else Fraction(1, fps)
    vs.codec_context.time_base = tb
    if rotation:
        vs.set_display_rotation(rotation)
    a = out.add_stream("aac", rate=44100) if audio else None
    if a is not None:
        a.codec_context.layout = "mono"
    pts, times = 0, []
    for i in range(frames):
        img = bg.copy()
        x1, y1, x2, y2 = person_box(i, frames)
        img[y1:y2, x1:x2] = person
        f = av.VideoFrame.from_ndarray(img, format="rgb24")
        f.pts, f.time_base = pts, tb
        times.append(float(pts * tb))
        out.mux(vs.encode(f))
        pts += (1000 // fps) * (1 + (i % 3 == 0)) if vfr else 1
    out.mux(vs.encode(None))
    if a is not None:
        n = int(float(pts * tb) * 44100)
        wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 44100)).astype(np.float32)
        fs = a.codec_context.frame_size or 1024
        for k in range(0, n, fs):
            af = av.AudioFrame.from_ndarray(wave[None, k : k + fs], format="fltp", layout="mono")
            af.sample_rate, af.pts, af.time_base = 44100, k, Fraction(1, 44100)
            out.mux(a.encode(af))
        out.mux(a.encode(None))
    out.close()
    return times


def probe(path):
    """Frames (RGB), their times, frame rate, rotation, container tags, streams with durations."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        rate = v.average_rate
        streams = {s.type: (float(s.duration * s.time_base) if s.duration else None) for s in c.streams}
        tags = dict(c.metadata)
        frames, times, rot = [], [], None
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(round(float(f.time), 4))
            rot = f.rotation if rot is None else rot
    return dict(frames=frames, times=times, rate=rate, rotation=rot, tags=tags, streams=streams)


@pytest.fixture
def clip(tmp_path):
    src = tmp_path / "walk.mp4"
    make_video(src, metadata={"title": "Secret meeting", "location": "+48.8584+002.2945/", "comment": "hi"})
    return src


def test_video_keeps_frames_rate_and_audio_and_strips_metadata(clip, tmp_path):
    out = tmp_path / "out.mp4"
    r = run(clip, "-o", out)
    assert r.returncode == 0, r.stderr
    before, after = probe(clip), probe(out)
    assert len(after["frames"]) == len(before["frames"]) == 12
    assert after["rate"] == before["rate"] == 10
    assert after["times"] == before["times"]
    assert after["frames"][0].shape == (H, W, 3)
    assert "audio" in after["streams"]
    assert abs(after["streams"]["audio"] - before["streams"]["audio"]) < 0.1  # within a frame
    assert before["tags"]["title"] == "Secret meeting"
    for key in after["tags"]:
        assert not any(word in key for word in ("title", "location", "comment", "encoder", "creation"))
    assert b"x264 - core" not in out.read_bytes()  # no encoder banner either
    assert "1 file anonymised" in r.stderr


def test_save_mask_writes_a_mask_video_frame_for_frame(clip, tmp_path):
    out = tmp_path / "out.mp4"
    r = run(clip, "-o", out, "--save-mask", "--method", "solid", "--color", "255,0,255", "-q")
    assert r.returncode == 0, r.stderr
    mask_path = tmp_path / "out_mask.mkv"
    masks, after = probe(mask_path), probe(out)
    assert set(masks["streams"]) == {"video"}  # no audio in the mask video
    assert len(masks["frames"]) == len(after["frames"]) == 12
    assert masks["times"] == after["times"]
    with av.open(str(mask_path)) as c:
        assert c.streams.video[0].codec_context.name == "ffv1"
        grey = [f.to_ndarray(format="gray") for f in c.decode(video=0)]
    for i, (m, frame) in enumerate(zip(grey, after["frames"])):
        assert set(np.unique(m)) <= {0, 255}  # lossless: exactly white or black
        x1, y1, x2, y2 = person_box(i, 12)
        assert (m[y1 + 8 : y2 - 8, x1 + 8 : x2 - 8] == 255).mean() > 0.9  # the astronaut is in the mask
        magenta = (np.abs(frame.astype(int) - MAGENTA).sum(axis=2) < 60)
        painted = m == 255
        assert (magenta[painted]).mean() > 0.9 and (~magenta[~painted]).mean() > 0.97  # the mask is what was painted


def test_save_mask_of_a_video_must_be_mkv(clip, tmp_path):
    from fuzzypeople import Anonymizer

    with pytest.raises(Exception, match="lossless .mkv"):
        Anonymizer("solid").anonymize_video(clip, tmp_path / "o.mp4", save_mask=tmp_path / "m.mp4")
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "m.mp4").exists()


def test_no_audio_and_keep_metadata(clip, tmp_path):
    out = tmp_path / "out.mkv"
    r = run(clip, "-o", out, "--no-audio", "--keep-metadata", "-q")
    assert r.returncode == 0, r.stderr
    after = probe(out)
    assert set(after["streams"]) == {"video"}
    assert len(after["frames"]) == 12
    tags = {k.lower(): v for k, v in after["tags"].items()}
    assert tags.get("title") == "Secret meeting"
    assert not any("location" in k for k in tags)  # GPS only with --keep-gps


def test_vfr_timestamps_kept(tmp_path):
    src, out = tmp_path / "vfr.mp4", tmp_path / "vfr_out.mp4"
    times = make_video(src, frames=10, audio=False, vfr=True)
    assert len(set(np.diff(times).round(3))) > 1  # really variable
    r = run(src, "-o", out, "-q")
    assert r.returncode == 0, r.stderr
    assert probe(out)["times"] == pytest.approx(times, abs=1e-3)


def test_rotation_kept(tmp_path):
    src = tmp_path / "portrait.mov"
    make_video(src, frames=6, audio=False, rotation=90)
    r = run(src, "-q")
    assert r.returncode == 0, r.stderr
    out = probe(tmp_path / "portrait_anonymized.mov")
    assert out["rotation"] == 90 and out["frames"][0].shape == (H, W, 3)


def nobody_found(src, dst):
    """Anonymise ``src`` into ``dst`` through the API with a detector that finds nobody: every
    pixel is the source's, so what comes out is what the reader and writer keep. Returns ``dst``."""
    from fuzzypeople import Anonymizer

    anon = Anonymizer("solid", targets="faces")
    anon.detector = lambda rgb: People.empty()
    return anon.anonymize_video(src, dst).output


def write_tagged(path, colours, space=1, frames=3):
    """An H.264 video of colour stripes, converted to YUV with matrix ``space`` and tagged so (primaries, transfer too)."""
    from av.video.reformatter import Colorspace

    img = np.zeros((48, 32 * len(colours), 3), np.uint8)
    for k, c in enumerate(colours):
        img[:, 32 * k : 32 * k + 32] = c
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=10, options={"crf": "0"})
        vs.width, vs.height, vs.pix_fmt = img.shape[1], img.shape[0], "yuv420p"
        ctx = vs.codec_context
        ctx.colorspace, ctx.color_primaries, ctx.color_trc, ctx.color_range = space, space, space, 1
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
                format="yuv420p", dst_colorspace={1: Colorspace.ITU709, 9: Colorspace.BT2020}[space],
                dst_color_range="MPEG")
            f.pts = i
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))


@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_a_bt709_video_keeps_its_colours_and_its_colour_tags(tmp_path, ext):
    """Frames are decoded with the video's own matrix (BT.709 here). The writer converted them back
    with BT.601 and left the output untagged, which players show as BT.709 in HD: every colour of
    the picture shifted ((32, 192, 64) showed as (19, 167, 61)). Now the source's matrix is used and
    its colour description tagged."""
    colours = [(32, 192, 64), (200, 40, 120), (250, 250, 20)]
    src = tmp_path / "hd.mp4"
    write_tagged(src, colours)
    out = nobody_found(src, tmp_path / f"out{ext}")
    with av.open(str(out)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.colorspace, ctx.color_primaries, ctx.color_trc) == (1, 1, 1)  # BT.709, as the source
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24")  # read as tagged, as a player does
    for k, colour in enumerate(colours):
        assert np.abs(frame[24, 32 * k + 16].astype(int) - colour).max() <= 6, (colour, frame[24, 32 * k + 16])


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_an_anamorphic_video_keeps_its_shape(tmp_path, ext):
    """720x576 shown 16:9 (pixels 64:45 wide, as DV and DVD store it): the output was written with
    square pixels, so it played squeezed to 5:4."""
    src = tmp_path / "dv.mp4"
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 720, 576, "yuv420p"
        vs.codec_context.sample_aspect_ratio = Fraction(64, 45)
        for i in range(3):
            f = av.VideoFrame.from_ndarray(np.full((576, 720, 3), 90, np.uint8), format="rgb24")
            f.pts = i
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
    out = nobody_found(src, tmp_path / f"out{ext}")
    with av.open(str(out)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height, v.sample_aspect_ratio, v.display_aspect_ratio) == (720, 576, Fraction(64, 45),
                                                                                     Fraction(16, 9))


def dominant_hz(path, k: int) -> int:
    """The loudest frequency of audio stream ``k`` of ``path``, over half a second from 0.25 s."""
    with av.open(str(path)) as c:
        s = c.streams.audio[k]
        rate = s.codec_context.sample_rate
        x = np.concatenate([f.to_ndarray()[0] for f in c.decode(s)])[rate // 4 : rate // 4 + rate // 2]
    return int(round(np.argmax(np.abs(np.fft.rfft(x))) * rate / x.size))


@pytest.mark.parametrize("ext", [".mp4", ".webm"])
def test_every_audio_stream_is_kept(tmp_path, ext):
    """Two microphones (or two languages): both streams come out, in order, with their language;
    copied into .mp4, re-encoded (Opus) into .webm. Only the first was kept before."""
    src = tmp_path / "two.mp4"
    with av.open(str(src), "w") as out:
        vs = out.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        tracks = []
        for hz, lang in ((440, "eng"), (660, "fra")):
            a = out.add_stream("aac", rate=44100)
            a.codec_context.layout = "mono"
            a.metadata["language"] = lang
            tracks.append((a, hz))
        for i in range(10):
            f = av.VideoFrame.from_ndarray(np.full((H, W, 3), 80, np.uint8), format="rgb24")
            f.pts = i
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
        for a, hz in tracks:
            wave = (0.3 * np.sin(2 * np.pi * hz * np.arange(44100) / 44100)).astype(np.float32)
            for k in range(0, 44100, 1024):
                af = av.AudioFrame.from_ndarray(wave[None, k : k + 1024], format="fltp", layout="mono")
                af.sample_rate, af.pts, af.time_base = 44100, k, Fraction(1, 44100)
                out.mux(a.encode(af))
            out.mux(a.encode(None))
    out = nobody_found(src, tmp_path / f"out{ext}")
    with av.open(str(out)) as c:
        audio = [(s.codec_context.name, s.language) for s in c.streams.audio]
    codec = "aac" if ext == ".mp4" else "opus"
    assert audio == [(codec, "eng"), (codec, "fra")]
    assert [dominant_hz(out, 0), dominant_hz(out, 1)] == [440, 660]


def test_the_video_is_found_behind_a_cover_picture(tmp_path):
    """A one-frame picture stored as the first video stream (cover art in .mkv/.avi) was taken for
    the video: the output was that one picture. The stream ffmpeg would pick is used now."""
    src = tmp_path / "cover.mkv"
    with av.open(str(src), "w") as out:
        cover = out.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 64, 64, "yuvj420p"
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        f = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 200, np.uint8), format="rgb24")
        f.pts = 0
        out.mux(cover.encode(f))
        out.mux(cover.encode(None))
        for i in range(10):
            f = av.VideoFrame.from_ndarray(np.full((H, W, 3), 80, np.uint8), format="rgb24")
            f.pts = i
            out.mux(video.encode(f))
        out.mux(video.encode(None))
    after = probe(nobody_found(src, tmp_path / "out.mp4"))
    assert len(after["frames"]) == 10 and after["frames"][0].shape == (H, W, 3)


@pytest.mark.parametrize("ext", [".webm", ".avi"])
def test_other_containers(clip, tmp_path, ext):
    out = tmp_path / f"out{ext}"
    r = run(clip, "-o", out, "-q", "--start", "0.3", "--end", "0:00.8")
    assert r.returncode == 0, r.stderr
    after = probe(out)
    assert after["times"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert "audio" in after["streams"]


@pytest.mark.parametrize("make,problem", [
    (lambda p, good: p.write_bytes(b""), "empty file"),
    (lambda p, good: p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40), "not a readable video"),
    (lambda p, good: p.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2]), "not a readable video"),
])
def test_broken_videos_fail_cleanly(tmp_path, clip, make, problem):
    bad = tmp_path / "bad.mp4"
    make(bad, clip)
    r = run(bad, "-o", tmp_path / "o.mp4")
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "bad.mp4" in lines[0] and problem in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "o.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".o.")]  # no temp file left


def test_truncated_faststart_video_fails_cleanly(tmp_path, clip):
    """moov first, so the header survives and the frames are missing."""
    fast = tmp_path / "fast.mp4"
    with av.open(str(clip)) as i, av.open(str(fast), "w", options={"movflags": "+faststart"}) as o:
        s = o.add_stream_from_template(i.streams.video[0])
        for p in i.demux(i.streams.video[0]):
            if p.size:
                p.stream = s
                o.mux(p)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(fast.read_bytes()[: fast.stat().st_size // 3])
    r = run(bad, "-o", tmp_path / "o.mp4")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "bad.mp4" in r.stderr and not (tmp_path / "o.mp4").exists()


def test_same_output_as_input_refused(clip):
    r = run(clip, "-o", clip)
    assert r.returncode == 1 and "overwrite the input" in r.stderr


# -- temporal safety: a fake detector ------------------------------------------------


class FakeDetector:
    """Returns the astronaut's true box, except on ``miss`` frames; raises on ``fail``."""

    def __init__(self, frames, miss=(), fail=()):
        self.frames, self.miss, self.fail, self.calls = frames, set(miss), set(fail), []

    def __call__(self, rgb):
        # Which frame is this? The astronaut's x position says.
        i = self.frame_of(rgb)
        self.calls.append(i)
        if i in self.fail:
            raise RuntimeError("detector exploded")
        if i in self.miss:
            return People.empty()
        return People(np.array([person_box(i, self.frames)], np.float32), [0.9], ["body"])

    def frame_of(self, rgb):
        col = (np.abs(rgb[H - 10].astype(int) - [120, 110, 100]).sum(axis=1) > 60).argmax()
        return int(np.argmin([abs(person_box(i, self.frames)[0] - col) for i in range(self.frames)]))


def hidden(frame, box, color=MAGENTA) -> float:
    """Share of the box's pixels painted (roughly, after lossy coding) in ``color``."""
    x1, y1, x2, y2 = box
    patch = frame[y1 + 4 : y2 - 4, x1 + 4 : x2 - 4].astype(int)
    return float((np.abs(patch - color).max(axis=2) < 60).mean())


def cli(*args):
    from fuzzypeople.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_gap_filled_when_detector_misses_middle_frames(tmp_path, fake_stack):
    src, out = tmp_path / "walk.mp4", tmp_path / "out.mp4"
    make_video(src, frames=16, audio=False)
    det = fake_stack["detector"] = FakeDetector(16, miss={7, 8, 9})
    r = cli(src, "-o", out, "-m", "solid", "--color", "255,0,255", "--detect-every", "1", "-q")
    assert r.exit_code == 0, r.output
    assert {7, 8, 9} <= set(det.calls)
    frames = probe(out)["frames"]
    shares = [hidden(f, person_box(i, 16)) for i, f in enumerate(frames)]
    assert min(shares) > 0.95, shares
    corner = frames[8][:20, -20:].astype(int)  # far from the person: untouched
    assert (np.abs(corner - [40, 90, 40]).max(axis=2) < 30).all()


def test_gap_filled_with_detection_cadence(tmp_path):
    from fuzzypeople import Anonymizer
    from fuzzypeople.pipeline import anonymize_video

    src, out = tmp_path / "walk.mp4", tmp_path / "out.mp4"
    make_video(src, frames=16, audio=False)
    anon = Anonymizer("solid", color=MAGENTA, targets="faces")
    anon.detector = det = FakeDetector(16, miss={6})
    res = anonymize_video(anon, src, out, every=3, quiet=True)
    assert det.calls == [0, 3, 6, 9, 12, 15]
    assert res.people == 1
    frames = probe(out)["frames"]
    assert min(hidden(f, person_box(i, 16)) for i, f in enumerate(frames)) > 0.95


def test_fail_safe_hides_whole_frame_when_analysis_fails(tmp_path, fake_stack):
    src, out = tmp_path / "walk.mp4", tmp_path / "out.mp4"
    make_video(src, frames=8, audio=False)
    fake_stack["detector"] = FakeDetector(8, fail={4})
    r = cli(src, "-o", out, "-m", "solid", "--color", "255,0,255", "--detect-every", "1", "--fail-safe", "-q")
    assert r.exit_code == 0, r.output
    frames = probe(out)["frames"]
    whole = [hidden(f, (0, 0, W, H)) > 0.98 for f in frames]
    assert whole == [i == 4 for i in range(8)]

    out2 = tmp_path / "out2.mp4"
    fake_stack["detector"] = FakeDetector(8, fail={4})
    r = cli(src, "-o", out2, "--detect-every", "1", "-q")
    assert r.exit_code == 1
    assert "walk.mp4: analysis failed on frame 4" in r.output and "detector exploded" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not out2.exists()


def test_fail_safe_hides_frame_where_a_tracked_person_vanishes(tmp_path):
    from fuzzypeople import Anonymizer
    from fuzzypeople.pipeline import anonymize_video

    src, out = tmp_path / "walk.mp4", tmp_path / "out.mp4"
    make_video(src, frames=8, audio=False)
    anon = Anonymizer("solid", color=MAGENTA, targets="faces", fail_safe=True)
    anon.detector = FakeDetector(8, miss={5})
    anonymize_video(anon, src, out, every=1, quiet=True)
    whole = [hidden(f, (0, 0, W, H)) > 0.98 for f in probe(out)["frames"]]
    assert whole == [i == 5 for i in range(8)]


def test_same_scramble_on_every_frame(tmp_path):
    """One seed per video: a static scene scrambles identically on every frame."""
    from fuzzypeople import Anonymizer
    from fuzzypeople.pipeline import anonymize_video

    src, out = tmp_path / "still.mkv", tmp_path / "out.mkv"
    make_video(src, frames=1, audio=False, codec="ffv1")
    with av.open(str(src)) as i, av.open(str(tmp_path / "still4.mkv"), "w") as o:
        f = next(i.decode(video=0)).to_ndarray(format="rgb24")
        s = o.add_stream("ffv1", rate=10)
        s.width, s.height, s.pix_fmt = W, H, "bgr0"
        for k in range(4):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = k
            o.mux(s.encode(vf))
        o.mux(s.encode(None))
    anon = Anonymizer("scramble", radius=8, targets="faces")
    anon.detector = lambda rgb: People(np.array([[20, 20, 120, 120]], np.float32), [1.0], ["face"])
    anonymize_video(anon, tmp_path / "still4.mkv", out, codec="ffv1", quiet=True)
    frames = probe(out)["frames"]
    assert len(frames) == 4 and not (frames[0] == f).all()
    core = (slice(20, 120), slice(20, 120))  # hidden on every frame (tracked frames hide a bit more)
    assert all((fr[core] == frames[0][core]).all() for fr in frames)


# -- cam ------------------------------------------------------------------------------


def test_cam_without_device_errors_cleanly(tmp_path):
    r = run("cam", "/dev/video97", "-o", tmp_path / "c.mp4")
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "/dev/video97" in r.stderr and "cannot open" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "c.mp4").exists()


def test_cam_from_a_stream_stops_at_frames(tmp_path, clip):
    r = run("cam", clip, "-o", tmp_path / "c.mkv", "--frames", "5", "-q")
    assert r.returncode == 0, r.stderr
    assert len(probe(tmp_path / "c.mkv")["frames"]) == 5


def test_cam_keeps_the_main_person_and_checks_keep_options_first(tmp_path, clip):
    """cam takes the keep options and treats a stream exactly as a video file (same settings, same frames)."""
    r = run("cam", clip, "-o", tmp_path / "k.mkv", "--frames", "6", "--keep-main", "--method", "solid", "-q")
    assert r.returncode == 0, r.stderr
    f = run(clip, "-o", tmp_path / "f.mkv", "--end", "0.6", "--keep-main", "--method", "solid")
    assert f.returncode == 0 and "1 kept" in f.stderr, f.stderr
    live, file = probe(tmp_path / "k.mkv")["frames"], probe(tmp_path / "f.mkv")["frames"]
    assert len(live) == len(file) == 6
    assert all(np.array_equal(a, b) for a, b in zip(live, file))
    none = run("cam", clip, "-o", tmp_path / "n.mkv", "--frames", "6", "--method", "solid", "-q")
    assert none.returncode == 0
    assert not all(np.array_equal(a, b) for a, b in zip(probe(tmp_path / "n.mkv")["frames"], live))  # keeping changed it
    r = run("cam", clip, "-o", tmp_path / "bad.mkv", "--keep-faces", tmp_path / "nowhere")
    assert r.returncode == 1 and "--keep-faces" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert not (tmp_path / "bad.mkv").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
@pytest.mark.parametrize("method", ["solid", "scramble"])
def test_the_same_input_and_seed_give_the_same_bytes_whatever_malloc_hands_out(clip, tmp_path, method):
    """glibc's MALLOC_PERTURB_ fills new and freed memory with a byte, so code that reads memory it
    never wrote gives other results. x264's AVX-512 code did, on flat painted boxes: the file
    changed. --seed promises the same bytes, and so do parallel workers; with the one malloc
    arena the command uses (alloc.py) any leftover memory would show."""
    outs = []
    for perturb in ("0", "165", "90"):
        dst = tmp_path / f"out{perturb}.mp4"
        r = subprocess.run([*CMD, str(clip), "-o", str(dst), "--seed", "1", "--method", method], capture_output=True,
                           text=True, env={**os.environ, "MALLOC_PERTURB_": perturb})
        assert r.returncode == 0, r.stderr
        outs.append(dst.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def write_ac3_avi(path, damage) -> float:
    """An AVI (MPEG-4 video, 2 s) whose AC-3 track is silent, then a 1 kHz tone from 0.5 s;
    ``damage(i, data)`` may replace the bytes of audio packet ``i``. Returns the tone's start."""
    rate, start = 48000, 0.5
    with av.open(str(path), "w") as out:
        vs = out.add_stream("mpeg4", rate=10)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        a = out.add_stream("ac3", rate=rate)
        a.codec_context.layout = "stereo"
        for i in range(20):
            f = av.VideoFrame.from_ndarray(np.full((H, W, 3), 80, np.uint8), format="rgb24")
            f.pts = i
            out.mux(vs.encode(f))
        out.mux(vs.encode(None))
        t = np.arange(2 * rate) / rate
        wave = np.where(t >= start, 0.3 * np.sin(2 * np.pi * 1000 * t), 0).astype(np.float32)
        fs = a.codec_context.frame_size
        packets = []
        for k in range(0, wave.size - fs + 1, fs):
            af = av.AudioFrame.from_ndarray(np.stack([wave[k : k + fs]] * 2), format="fltp", layout="stereo")
            af.sample_rate, af.pts, af.time_base = rate, k, Fraction(1, rate)
            packets += a.encode(af)
        packets += a.encode(None)
        for i, p in enumerate(packets):
            data = damage(i, bytes(p))
            if data is not None:
                q = av.Packet(data)
                q.pts, q.dts, q.time_base, q.stream = p.pts, p.dts, p.time_base, a
                p = q
            out.mux(p)
    return start


def tone_onset(path) -> float:
    """Seconds from the output's first audio sample to where its 1 kHz tone begins."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        rate = s.codec_context.sample_rate
        x = np.concatenate([f.to_ndarray()[0] for f in c.decode(s)])
    return float(np.argmax(np.abs(x) > 0.1) / rate)


def test_an_avi_whose_ac3_starts_mid_frame_is_re_encoded_in_step(tmp_path):
    """AVI files often start their AC-3 track in the middle of a frame: the first packet does not
    decode. Into .webm (audio re-encoded to Opus) that stopped the whole run ('Invalid data found');
    now the damaged packet becomes silence of its length, so the tone starts when it did."""
    src = tmp_path / "ac3.avi"
    start = write_ac3_avi(src, lambda i, data: data[len(data) // 2 :] if i == 0 else None)
    with av.open(str(src)) as c:  # the file really has a packet that does not decode
        with pytest.raises(av.error.InvalidDataError):
            for p in c.demux(audio=0):
                c.streams.audio[0].codec_context.decode(p)
    out = nobody_found(src, tmp_path / "out.webm")
    info = probe(out)
    assert len(info["frames"]) == 20
    with av.open(str(out)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["opus"]
    assert abs(tone_onset(out) - start) < 0.015  # one AC-3 frame is 0.032 s: dropping it shows (0.027 off)


def test_an_audio_track_that_never_decodes_is_a_clear_error(tmp_path):
    src = tmp_path / "bad.avi"
    write_ac3_avi(src, lambda i, data: bytes(len(data)))  # every audio packet zeroed
    r = run(src, "-o", tmp_path / "out.webm", "--targets", "faces")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "bad.avi: cannot decode audio stream 1 (ac3)" in r.stderr and "--no-audio" in r.stderr
    assert not (tmp_path / "out.webm").exists()
    assert run(src, "-o", tmp_path / "out.webm", "--targets", "faces", "--no-audio").returncode == 0


@pytest.mark.parametrize("ext", [".mp4", ".mov"])
def test_a_video_starting_after_zero_keeps_its_frame_times_exactly(tmp_path, fake_stack, ext):
    """A source whose first frame is at 41.7 ms (23.976 fps, as many AVIs): mp4/mov delay the
    video with an edit list written in the movie's timescale (1000 by default), which moved every
    frame up to 1 ms early (41.04 ms)."""
    src = tmp_path / "late.mp4"
    rate, tb = Fraction(2997, 125), Fraction(125, 2997)
    with av.open(str(src), "w", container_options={"movie_timescale": "90000"}) as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = tb
        for i in range(1, 9):  # pts 1..8: the first frame at 41.7 ms
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 30 * i, np.uint8), format="rgb24")
            f.pts, f.time_base = i, tb
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    fake_stack["detector"] = lambda rgb: People.empty()
    out = tmp_path / f"out{ext}"
    r = cli(src, "-o", out, "-m", "solid", "-q")
    assert r.exit_code == 0, r.output
    a, b = probe(src), probe(out)
    assert a["times"][:2] == [0.0417, 0.0834]  # the source is what the test says
    assert b["times"] == a["times"]


def test_an_avi_with_b_frames_keeps_its_frames_in_time_with_its_sound(tmp_path, fake_stack):
    """AVI stores no presentation times: with B-frames the decoder's frames carry storage-order
    counts (1, 3, 4, 2, 6, 7, 5, ...). Bumping each late one past the last put the rest of the
    video a frame behind its sound (Megamind.avi); the n-th frame shown is now at the n-th
    packet time, as the source's own index says."""
    from fuzzypeople.io.video import video_index

    src = tmp_path / "bframes.avi"
    with av.open(str(src), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.options = {"bf": "2"}
        for i in range(12):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    with av.open(str(src)) as c:  # the source is what the test says: frames out of storage order
        stored = [f.pts for f in c.decode(video=0)]
    assert stored != sorted(stored)
    fake_stack["detector"] = lambda rgb: People.empty()
    out = tmp_path / "out.mp4"
    r = cli(src, "-o", out, "-m", "solid", "-q")
    assert r.exit_code == 0, r.output
    b = probe(out)
    assert b["times"] == [round(t, 4) for t in video_index(src).times]
    grey = [int(f[24, 32].mean()) for f in b["frames"]]
    assert grey == sorted(grey) and grey[-1] - grey[0] > 150  # shown in display order
