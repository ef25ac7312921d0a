"""The awkward-input corpus (tests/corpus.py, made at test time) through the real command.

Each case checks the exit status, the message, whether an output exists,
and, where a person is in the picture, that the person's pixels changed (in
every frame) while, in lossless formats, the rest stayed exactly as stored.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from corpus import FACE, SHIFT, astronaut, corrupt_exif_jpeg, decode, make_formats

CMD = [sys.executable, "-m", "fuzzypeople"]
MAGENTA = "255,0,255"


def run(*args, umask: int | None = None):
    pre = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, preexec_fn=pre)


def one_line_errors(stderr: str) -> None:
    assert "Traceback" not in stderr and "site-packages" not in stderr and "Warning" not in stderr, stderr


# ------------------------------------------------------------------------------ every pixel format
@pytest.fixture(scope="module")
def formats(tmp_path_factory):
    """The format corpus, anonymised in one run (solid magenta, so "changed" is unmistakable)."""
    root = tmp_path_factory.mktemp("corpus")
    cases = make_formats(root / "in")
    r = run(root / "in", "-o", root / "out", "--method", "solid", "--color", MAGENTA, "--save-mask", umask=0o022)
    return root, cases, r


def test_format_corpus_run_succeeds(formats):
    root, cases, r = formats
    assert r.returncode == 0, r.stderr
    one_line_errors(r.stderr)
    assert f"{len(cases)} files anonymised" in r.stderr


CORPUS_NAMES = sorted([
    "rgb8.png", "jpeg8.jpg", "grey16_0_255.png", "grey16.png", "rgb12.png", "rgb12t.tif", "rgb10.tif", "rgb16.png",
    "float01.tif", "float255.tif", "greyfloat255.tif", "greyalpha.png", "rgba.png", "cmyk.jpg", "cmykt.tif",
    "palette.png", "gifanim.gif", "apng.png", "webpanim.webp", "pages.tif", "phone.heic"])


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_every_format_hides_the_person_and_keeps_the_rest(formats, name):
    root, cases, _ = formats
    if name not in cases:
        pytest.skip(f"{name}: its writer is not installed")
    case = cases[name]
    out = root / "out" / (Path(name).with_suffix(".jpg") if name.endswith(".heic") else Path(name))
    assert out.is_file(), f"no output for {name}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o644  # as open() under umask 022, not the temp file's 0600
    got = decode(out)
    assert len(got) == len(case.frames), f"{name}: {len(case.frames)} frames in, {len(got)} out"
    for i, (before, after) in enumerate(zip(case.frames, got)):
        assert after.shape[:2] == before.shape[:2]
        if case.dtype:
            assert str(after.dtype) == case.dtype, f"{name}: depth not kept ({after.dtype})"
        b = before.astype(np.float64).reshape(*before.shape[:2], -1)[..., :3] * (255.0 / case.white)
        scale = 255.0 / case.white if after.dtype == before.dtype else 255.0 / float(np.iinfo(after.dtype).max if after.dtype.kind in "ui" else 1)
        a = after.astype(np.float64).reshape(*after.shape[:2], -1)[..., :3] * scale
        rows, cols = FACE
        cols = slice(cols.start + SHIFT * i, cols.stop + SHIFT * i)
        diff = np.abs(a - b).max(axis=2)
        face = diff[rows, cols]
        assert (face > 2).mean() > 0.9 and face.mean() > 30, f"{name} frame {i}: the face is still there"
        if case.lossless and after.dtype == before.dtype and i == 0:  # everything outside the mask exactly kept
            mask = np.asarray(Image.open(out.with_name(out.stem + "_mask.png"))) > 0
            assert 0.05 < mask.mean() < 0.9
            assert diff[~mask].max() < 1e-6, f"{name}: pixels outside the mask changed"
        if after.dtype.kind == "f":
            assert np.nanmax(after) <= case.white * 1.0001, f"{name}: values out of the input's range"
            assert len(np.unique(after.reshape(-1))) > 50, f"{name}: values crushed"


def test_animated_gif_stays_animated_with_every_frame_hidden(formats):
    root, cases, _ = formats
    out = root / "out" / "gifanim.gif"
    with Image.open(out) as im:
        assert im.format == "GIF" and getattr(im, "n_frames", 1) == 3 and im.is_animated
    frames = decode(out)
    rows, cols = FACE
    for i, frame in enumerate(frames):
        face = frame[rows, slice(cols.start + SHIFT * i, cols.stop + SHIFT * i)].astype(int)
        assert (np.abs(face - [255, 0, 255]).max(axis=2) < 40).mean() > 0.9, f"frame {i} not hidden"


# ------------------------------------------------------------------------------ refusals
def test_near_uniform_analysis_copy_is_an_error_not_nobody(tmp_path):
    """16-bit values 30000-30040: the 8-bit copy would be flat grey while the picture holds a person."""
    g = np.asarray(Image.fromarray(astronaut()).convert("L")).astype(np.uint16)
    src = tmp_path / "faint.png"
    Image.fromarray((30000 + g // 6).astype(np.uint16)).save(src)
    r = run(src)
    assert r.returncode == 1
    assert "faint.png" in r.stderr and "too little contrast" in r.stderr
    one_line_errors(r.stderr)
    assert not (tmp_path / "faint_anonymized.png").exists()


def test_same_name_in_two_folders_is_refused_before_writing(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        Image.fromarray(astronaut()).save(tmp_path / d / "pic.jpg")
    r = run(tmp_path / "a" / "pic.jpg", tmp_path / "b" / "pic.jpg", "-o", tmp_path / "out")
    assert r.returncode == 1 and "would both be written" in r.stderr and "pic.jpg" in r.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_existing_output_needs_overwrite(tmp_path):
    src = tmp_path / "pic.png"
    Image.fromarray(astronaut()).save(src)
    out = tmp_path / "out.png"
    out.write_bytes(b"precious")
    r = run(src, "-o", out, "--method", "solid")
    assert r.returncode == 1 and "already exists" in r.stderr and "--overwrite" in r.stderr
    assert out.read_bytes() == b"precious"
    r = run(src, "-o", out, "--method", "solid", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert Image.open(out).format == "PNG"


@pytest.mark.parametrize("name,ok", [("out.gif", True), ("out.mp4", False), ("out.xyz", False), ("out", False)])
def test_output_container_follows_the_name_or_is_refused(tmp_path, name, ok):
    src = tmp_path / "pic.png"
    Image.fromarray(astronaut()).save(src)
    r = run(src, "-o", tmp_path / name, "--method", "solid")
    assert (r.returncode == 0) == ok, r.stderr
    if ok:
        assert Image.open(tmp_path / name).format == "GIF"
    else:
        assert "cannot write a photo as" in r.stderr and not (tmp_path / name).exists()
    one_line_errors(r.stderr)


def test_jpeg_named_mp4_is_a_photo_not_a_video(tmp_path):
    src = tmp_path / "clip.mp4"
    Image.fromarray(astronaut()).save(src, format="JPEG")
    r = run(src, "-o", tmp_path / "out.jpg", "--method", "solid")
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path / "out.jpg").format == "JPEG"


def test_animation_to_a_single_frame_format_is_refused(tmp_path):
    make_formats(tmp_path / "c")
    r = run(tmp_path / "c" / "gifanim.gif", "-o", tmp_path / "anim.jpg")
    assert r.returncode == 1 and "3 frames" in r.stderr and not (tmp_path / "anim.jpg").exists()


def test_folder_runs_report_every_skipped_file(tmp_path):
    (tmp_path / "in").mkdir()
    Image.fromarray(astronaut()).save(tmp_path / "in" / "pic.jpg")
    (tmp_path / "in" / "notes.txt").write_text("hello")
    (tmp_path / "in" / "old_anonymized.jpg").write_bytes((tmp_path / "in" / "pic.jpg").read_bytes())
    r = run(tmp_path / "in", "-o", tmp_path / "out", "--method", "solid")
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stderr and "notes.txt" in r.stderr and "old_anonymized.jpg" in r.stderr


# ------------------------------------------------------------------------------ strips, permissions, messages
@pytest.mark.parametrize("method", ["scramble", "pixelate", "blur", "solid", "silhouette", "none"])
def test_thin_strips_and_tiny_images_work_for_every_method(tmp_path, method):
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    sizes = [(1, 3000), (2, 2000), (3000, 2), (1, 1), (3, 3000)]
    for w, h in sizes:
        Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8)).save(tmp_path / "in" / f"s{w}x{h}.png")
    r = run(tmp_path / "in", "-o", tmp_path / "out", "--method", method, "--save-mask")
    assert r.returncode == 0, r.stderr
    for w, h in sizes:
        if method != "none":
            assert Image.open(tmp_path / "out" / f"s{w}x{h}.png").size == (w, h)
        assert Image.open(tmp_path / "out" / f"s{w}x{h}_mask.png").size == (w, h)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_get_the_permissions_of_a_plain_open(tmp_path, umask, mode):
    src = tmp_path / "pic.png"
    Image.fromarray(astronaut()[:64, :64]).save(src)
    r = run(src, "-o", tmp_path / "out.png", "--method", "solid", "--save-mask", umask=umask)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE((tmp_path / "out.png").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "out_mask.png").stat().st_mode) == mode


def test_corrupt_exif_warns_nobody(tmp_path):
    src = tmp_path / "bad_exif.jpg"
    corrupt_exif_jpeg(src)
    r = run(src, "--keep-metadata")
    assert r.returncode == 0, r.stderr
    one_line_errors(r.stderr)
    assert (tmp_path / "bad_exif_anonymized.jpg").is_file()


def test_unwritable_output_names_the_folder_and_cause(tmp_path):
    target = Path("/sys/fuzzypeople-test/out.jpg")  # sysfs: not writable, even for root
    if os.access("/sys", os.W_OK) and Path("/sys").exists() and os.statvfs("/sys").f_flag & os.ST_RDONLY == 0:
        probe = subprocess.run(["mkdir", "/sys/fuzzypeople-test"], capture_output=True)
        if probe.returncode == 0:
            pytest.skip("/sys is writable here")
    src = tmp_path / "pic.png"
    Image.fromarray(astronaut()[:64, :64]).save(src)
    r = run(src, "-o", target, "--method", "solid")
    assert r.returncode == 1
    line = [x for x in r.stderr.splitlines() if "error" in x][0]
    assert line.startswith(f"fuzzypeople: error: {target}: cannot write to /sys/fuzzypeople-test/:"), line
    assert ".out." not in line  # never the temporary name
    one_line_errors(r.stderr)


def test_named_pipe_is_not_an_empty_file(tmp_path):
    fifo = tmp_path / "stream.mp4"
    os.mkfifo(fifo)
    r = run(fifo)
    assert r.returncode == 1 and "not a regular file" in r.stderr


# ------------------------------------------------------------------------------ metadata
def _xmp_with_gps() -> bytes:
    return (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            b'exif:GPSLatitude="51,30.0N" exif:GPSAltitude="10/1"><exif:GPSLongitude>0,7.0W</exif:GPSLongitude>'
            b'<dc:creator>kept</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>')


@pytest.mark.parametrize("ext", ["jpg", "webp"])
def test_keep_metadata_drops_gps_from_exif_and_xmp(tmp_path, ext):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}
    src = tmp_path / f"m.{ext}"
    Image.fromarray(astronaut()).save(src, exif=exif, xmp=_xmp_with_gps())
    assert b"GPSLatitude" in src.read_bytes()
    r = run(src, "--keep-metadata", "--method", "solid")
    assert r.returncode == 0, r.stderr
    out = tmp_path / f"m_anonymized.{ext}"
    data = out.read_bytes()
    assert b"GPS" not in data and b"kept" in data and b"SpyCam" in data
    assert 0x8825 not in Image.open(out).getexif()
    r = run(src, "-o", tmp_path / f"g.{ext}", "--keep-metadata", "--keep-gps", "--method", "solid")
    assert r.returncode == 0 and b"GPSLatitude" in (tmp_path / f"g.{ext}").read_bytes()


def test_icc_profile_kept_by_default(tmp_path):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "icc.jpg"
    Image.fromarray(astronaut()).save(src, icc_profile=icc)
    r = run(src, "--method", "solid")
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path / "icc_anonymized.jpg").info.get("icc_profile") == icc


# ------------------------------------------------------------------------------ large photos
def test_large_photo_is_analysed_shrunk_and_the_mask_scaled_back(tmp_path, monkeypatch):
    """With the working size forced down to 256 px, the 512 px astronaut is analysed at half size."""
    from fuzzypeople import Anonymizer
    from fuzzypeople.pipeline import photo

    seen = []
    anon = Anonymizer("solid", color=(255, 0, 255))
    detect = anon.detector
    anon.detector = lambda rgb: (seen.append(rgb.shape), detect(rgb))[1]
    monkeypatch.setattr(photo, "ANALYSIS_MAX_SIDE", 256)
    src = tmp_path / "a.png"
    Image.fromarray(astronaut()).save(src)
    res = anon.anonymize_file(src, tmp_path / "o.png")
    assert seen and max(seen[0][:2]) == 256
    out = np.asarray(Image.open(res.output))
    rows, cols = FACE
    assert (out[rows, cols] == [255, 0, 255]).all(axis=2).mean() > 0.95


def test_huge_bands_scramble_with_a_field_for_the_masked_window_only(tmp_path, monkeypatch):
    """Bands too big for a cached scramble field get coordinates for their masked window only
    (obfuscate.scramble._field with a window): the person is still scrambled, nothing else touched."""
    from fuzzypeople import Anonymizer
    from fuzzypeople.io import image
    from fuzzypeople.obfuscate import scramble
    from fuzzypeople.pipeline import photo

    monkeypatch.setattr(photo, "BAND_ABOVE", 1000)
    monkeypatch.setattr(photo, "BAND_PIXELS", 40 * 512)
    monkeypatch.setattr(image, "LARGE_PIXELS", 1000)
    monkeypatch.setattr(scramble, "CACHE_PIXELS", 1000)  # every band takes the windowed field
    fields, real = [], scramble._field

    def field(h, w, radius, shape="square", seed=0, window=None):
        fields.append(window)
        return real(h, w, radius, shape, seed, window)

    monkeypatch.setattr(scramble, "_field", field)
    src = tmp_path / "a.png"
    Image.fromarray(astronaut()).save(src)
    res = Anonymizer("scramble", seed=1).anonymize_file(src, tmp_path / "o.png", save_mask=tmp_path / "m.png")
    out = np.asarray(Image.open(res.output)).astype(int)
    mask = np.asarray(Image.open(tmp_path / "m.png")) > 0
    diff = np.abs(out - astronaut()).max(axis=2)
    assert fields and all(w is not None for w in fields)  # the windowed path ran, band by band
    assert (diff[~mask] == 0).all()
    rows, cols = FACE
    assert (diff[rows, cols] > 0).mean() > 0.8 and diff[rows, cols].mean() > 20


@pytest.mark.parametrize("method", ["scramble", "pixelate", "blur", "solid", "silhouette"])
def test_large_photo_path_hides_in_bands_and_streams_with_opencv(tmp_path, monkeypatch, method):
    """The large-photo path (OpenCV decode/encode, hiding in bands) forced on the 512 px astronaut."""
    from fuzzypeople import Anonymizer
    from fuzzypeople.io import image
    from fuzzypeople.pipeline import photo

    monkeypatch.setattr(photo, "BAND_ABOVE", 1000)
    monkeypatch.setattr(photo, "BAND_PIXELS", 40 * 512)  # bands of 48 rows (pixelate: 3 blocks)
    monkeypatch.setattr(image, "LARGE_PIXELS", 1000)
    fixed = {"block": 16} if method == "pixelate" else {}  # one block size, so bands can match one pass
    anon = Anonymizer(method, seed=1, **fixed)
    src = tmp_path / "a.png"
    Image.fromarray(astronaut()).save(src)
    assert image.read_image(src).pixels.flags.writeable
    res = anon.anonymize_file(src, tmp_path / "o.png", save_mask=tmp_path / "m.png")
    out = np.asarray(Image.open(res.output)).astype(int)
    mask = np.asarray(Image.open(tmp_path / "m.png")) > 0
    diff = np.abs(out - astronaut()).max(axis=2)
    assert (diff[~mask] == 0).all()  # nothing outside the mask touched
    rows, cols = FACE
    assert mask[rows, cols].all() and (diff[rows, cols] > 0).mean() > 0.8 and diff[rows, cols].mean() > 20
    if method == "pixelate":  # blocks line up with the image grid across band edges
        whole = Anonymizer(method, seed=1, **fixed).hide(astronaut(), mask)
        assert (out[mask] == whole[mask]).all()
