"""The processing layer and the io it stands on: settings, the frame loop, video read/write."""

from __future__ import annotations

import dataclasses
import platform
import subprocess
import sys

import av
import numpy as np
import pytest

from fuzzypeople import Anonymizer, Settings
from fuzzypeople.io.video import Frame, VideoReader, VideoWriter, open_file
from fuzzypeople.people import People
from fuzzypeople.pipeline import StillMasker, anonymize_frames

from test_video import H, W, make_video, probe


def test_settings_are_one_frozen_object_shared_by_anonymizer():
    s = Settings(method="pixelate", block=24, targets="faces", every=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.block = 8
    a = Anonymizer("pixelate", block=24, targets="faces", every=2)
    assert a.settings == s == Anonymizer(settings=s).settings == Anonymizer.from_settings(s).settings
    assert a.params.block == 24 and s.targets == ("faces",)
    with pytest.raises(TypeError):
        Anonymizer("blur", settings=s)
    with pytest.raises(TypeError):
        Settings(no_such_option=1)
    a.fail_safe = True  # stage knobs write through to the settings
    assert a.settings.fail_safe and a.settings.block == 24
    assert Settings().for_video().tile_scale == 1.0 and Settings(tile_scale=0).for_video().tile_scale == 0


def test_anonymize_frames_keeps_order_items_and_turns_masks_back():
    anon = Anonymizer("solid", color=(255, 0, 255), targets="faces", dilate=0)
    seen = []

    def detect(rgb):
        seen.append(rgb.shape)
        return People(np.array([[0, 0, 4, 2]], np.float32), [1.0], ["face"])  # top-left of the upright view

    anon.detector = detect
    anon.grow = {}
    pixels = np.zeros((6, 10, 3), np.uint8)  # stored landscape, shown portrait (one quarter turn)
    upright = np.ascontiguousarray(np.rot90(pixels, 1))
    out = list(anonymize_frames(anon, [(i, pixels, upright, 1) for i in range(3)], StillMasker(anon)))
    assert [item for item, _, _ in out] == [0, 1, 2] and seen == [(10, 6, 3)] * 3
    item, hidden, mask = out[0]
    assert mask.shape == (6, 10) and mask.sum() == 8
    assert (np.rot90(hidden, 1)[:2, :4] == [255, 0, 255]).all()  # hidden where the detector saw it
    assert (hidden[~mask] == 0).all()


def test_hiding_on_a_helper_thread_gives_the_same_frames_in_order_and_raises_its_errors():
    """hide_ahead (video) hides on another thread: same items, pixels and masks, in order;
    a failure while hiding reaches the caller, and no frame after it comes out."""
    import threading

    anon = Anonymizer("solid", color=(255, 0, 255), targets="faces", dilate=0)
    anon.detector = lambda rgb: People(np.array([[rgb[0, 0, 0] % 8, 0, 9, 3]], np.float32), [1.0], ["face"])
    anon.grow = {}
    frames = [np.full((6, 10, 3), i, np.uint8) for i in range(12)]
    stream = [(i, f, f, 0) for i, f in enumerate(frames)]
    plain = list(anonymize_frames(anon, stream, StillMasker(anon)))
    threads, hide = set(), anon.hide

    def spy(*args, **kw):
        threads.add(threading.current_thread().name)
        return hide(*args, **kw)

    anon.hide = spy
    ahead = list(anonymize_frames(anon, stream, StillMasker(anon), hide_ahead=2))
    assert [i for i, _, _ in ahead] == list(range(12)) and threads and threading.main_thread().name not in threads
    for (_, a, ma), (_, b, mb) in zip(plain, ahead):
        assert np.array_equal(a, b) and np.array_equal(ma, mb) and ma.any()

    def fails_on_5(pixels, mask, params=None, **kw):
        if pixels[0, 0, 0] == 5:
            raise RuntimeError("hide failed on 5")
        return hide(pixels, mask, params, **kw)

    anon.hide = fails_on_5
    got = []
    with pytest.raises(RuntimeError, match="hide failed on 5"):
        for item, _, _ in anonymize_frames(anon, stream, StillMasker(anon), hide_ahead=2):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_malloc_is_tuned_for_video_only_while_one_streams(tmp_path, monkeypatch):
    """The command line tunes glibc's malloc for photos (big buffers go back at once); a video
    switches to reusing the heap while it streams (page faults took a quarter of the CPU) and
    switches back after. A program that never enabled tuning is left alone."""
    from fuzzypeople import alloc

    calls = []
    monkeypatch.setattr(alloc, "_set", lambda mode: (calls.append(mode), alloc._STATE.update(mode=mode)))
    monkeypatch.setitem(alloc._STATE, "mode", None)
    src = tmp_path / "in.mp4"
    make_video(src, frames=6)
    anon = Anonymizer("solid", targets="faces")
    anon.anonymize_video(src, tmp_path / "a.mp4")
    assert calls == []  # not enabled: glibc's own behaviour
    alloc.enable()
    inside = []
    hide = anon.hide
    anon.hide = lambda *a, **kw: (inside.append(alloc.current()), hide(*a, **kw))[1]
    anon.anonymize_video(src, tmp_path / "b.mp4")
    assert calls == ["photo", "video", "photo"] and set(inside) == {"video"} and alloc.current() == "photo"


ARENAS = """
import ctypes, sys, tempfile, threading
import numpy as np
from fuzzypeople import alloc

def arenas():
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype, libc.fopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes, libc.fclose.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        fp = libc.fopen(f.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        return open(f.name).read().count("<heap nr=")

def allocate():
    keep = [np.ones(20000) for _ in range(10)]  # 160 kB each: from an arena, not an mmap

def three_threads():
    threads = [threading.Thread(target=allocate) for _ in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]

if sys.argv[1] == "enabled":
    alloc.enable()
three_threads()
with alloc.tuned("video"):
    three_threads()
print(arenas())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_threads_share_one_malloc_arena_once_tuning_is_enabled():
    """With malloc tuned (the command line), threads (a video's decoder, hider and encoder)
    allocate from one malloc arena, so that one's free memory serves the others; a program that
    did not enable tuning keeps glibc's arena per thread. Counted by glibc itself
    (malloc_info), in a fresh process."""
    def count(mode):
        out = subprocess.run([sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, check=True)
        return int(out.stdout)

    assert count("enabled") == 1
    assert count("untouched") > 1


def test_reader_and_writer_copy_a_video_knowing_nothing_of_people(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    times = make_video(src, frames=8, vfr=True)
    with VideoReader(open_file(src), src) as reader, VideoWriter(dst, reader) as writer:
        assert reader.estimated_frames() == 8
        kinds = []
        for item in reader:
            if isinstance(item, Frame):
                if "v" not in kinds:
                    writer.begin(item.rgb.shape, item.rotation)
                writer.write(item.rgb, item.pts, item.time)
                kinds.append("v")
            else:
                writer.audio(item)
                kinds.append("a")
    assert kinds.count("v") == 8 and "a" in kinds
    after = probe(dst)
    assert after["times"] == pytest.approx(times, abs=1e-3)
    assert len(after["frames"]) == 8 and after["frames"][0].shape == (H, W, 3) and "audio" in after["streams"]


def test_writer_left_by_an_exception_leaves_nothing(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_video(src, frames=3, audio=False)
    with pytest.raises(RuntimeError), VideoReader(open_file(src), src) as reader, VideoWriter(dst, reader) as writer:
        for frame in reader:
            writer.begin(frame.rgb.shape)
            writer.write(frame.rgb, frame.pts, frame.time)
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == [src]


def test_an_anonymizer_made_for_photos_gives_videos_the_video_stack(tmp_path, monkeypatch):
    """``Anonymizer().anonymize_video`` runs the command line's video settings (for_video: int8,
    windows, faces at half size), not the photo stack it would otherwise load (6x slower on vtest);
    the video stack is built once, photos keep their own, and keyword changes reach the detectors."""
    import fuzzypeople.api as api

    made = []
    real = api.Stack
    monkeypatch.setattr(api, "Stack", lambda **kw: made.append(kw) or real(**kw))
    src = tmp_path / "in.mp4"
    make_video(src, frames=4, audio=False)
    anon = Anonymizer("solid", targets="faces")
    assert made == []  # models load when first needed
    anon.anonymize_video(src, tmp_path / "a.mp4")
    anon.anonymize_video(src, tmp_path / "b.mp4", every=2)  # no detector option changed: the same stack
    anon.anonymize(np.zeros((32, 32, 3), np.uint8))
    anon.anonymize_video(src, tmp_path / "c.mp4", threshold=0.9)
    photo = Settings(method="solid", targets="faces")
    assert made == [photo.for_video().detector_options(), photo.detector_options(),
                    photo.replace(threshold=0.9).for_video().detector_options()]
    assert made[0]["face_scale"] == 0.5 and made[0]["int8"] and made[1]["face_scale"] == 1.0
    assert anon.settings == photo  # the Anonymizer's own settings are unchanged
    with pytest.raises(ValueError, match="unknown detector 'nope'"):
        Anonymizer(face_detector="nope")  # a wrong name still fails at once


def test_anonymizer_anonymize_video(tmp_path):
    src = tmp_path / "walk.mkv"
    make_video(src, frames=6, audio=False)
    anon = Anonymizer("solid", color=(255, 0, 255), targets="faces")
    calls = []
    anon.detector = lambda rgb: calls.append(1) or People.empty()
    res = anon.anonymize_video(src, every=2)
    assert res.output == tmp_path / "walk_anonymized.mkv" and res.people == 0
    assert len(calls) == 4  # frames 0, 2, 4 and the last one
    with av.open(str(res.output)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 6


def test_a_face_inside_a_body_box_is_counted_as_that_person_in_photos_and_video(tmp_path):
    """"N people found": a body and the face in its box are one person; a face alone is one more
    (photos and video alike, as the web app counts)."""
    import cv2

    def detect(rgb):
        h, w = rgb.shape[:2]
        return People(np.array([[0, 0, w // 2, h], [w // 8, 2, w // 4, h // 4], [w - 20, 0, w, 20]], np.float32),
                      [0.9, 0.9, 0.9], ["body", "face", "face"])

    anon = Anonymizer("solid", color=(255, 0, 255))
    anon.detector = detect
    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), np.zeros((120, 160, 3), np.uint8))
    assert anon.anonymize_file(photo, tmp_path / "p_out.png").people == 2
    src = tmp_path / "walk.mkv"
    make_video(src, frames=6, audio=False)
    assert anon.anonymize_video(src, every=1).people == 2  # one body track, one lone face track
