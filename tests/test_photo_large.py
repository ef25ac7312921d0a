"""Memory of very large photos (issue 13: a 144 MP photo under 1 GB): each mechanism forced on small images.

* the photo's pixels are let go while its shrunk copy is analysed, and the
  file is decoded again for hiding (``pipeline.photo.Redecode``), refusing a
  file that changed in between;
* scramble hides a band in place, computing only the band's masked window
  however large its margin (``obfuscate.scramble.scramble_in_place``);
* a large photo is decoded straight into one array (``io.image._read_large``).

The 144 MP figures themselves come from ``benchmarks/big_photo.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest
from PIL import Image

from corpus import FACE, astronaut


@pytest.fixture
def huge(monkeypatch):
    """Make the 512 px astronaut count as a huge photo: analysed at 256 px, hidden in bands."""
    from fuzzypeople.io import image
    from fuzzypeople.pipeline import photo

    monkeypatch.setattr(photo, "ANALYSIS_MAX_SIDE", 256)
    monkeypatch.setattr(photo, "BAND_ABOVE", 1000)
    monkeypatch.setattr(photo, "BAND_PIXELS", 40 * 512)
    monkeypatch.setattr(image, "LARGE_PIXELS", 1000)
    return photo


def _spy_reads(monkeypatch, photo):
    """Record a weak reference to the pixels of every decode of the photo."""
    reads, real = [], photo.read_image

    def read(path, *a, **k):
        img = real(path, *a, **k)
        reads.append(weakref.ref(img.pixels))
        return img

    monkeypatch.setattr(photo, "read_image", read)
    return reads


@pytest.mark.parametrize("method", ["solid", "scramble"])
def test_huge_photo_pixels_are_let_go_during_analysis_and_decoded_again(tmp_path, monkeypatch, huge, method):
    import gc

    from fuzzypeople import Anonymizer

    reads = _spy_reads(monkeypatch, huge)
    anon = Anonymizer(method, color=(255, 0, 255), seed=1)
    detect, alive = anon.detector, []

    def detector(rgb):
        gc.collect()
        alive.append([r() is not None for r in reads])
        return detect(rgb)

    anon.detector = detector
    src = tmp_path / "a.png"
    Image.fromarray(astronaut()).save(src)
    res = anon.anonymize_file(src, tmp_path / "o.png", save_mask=tmp_path / "m.png")
    assert alive == [[False]]  # while the detectors ran, the full-size pixels were gone
    assert len(reads) == 2  # decoded again for hiding
    out = np.asarray(Image.open(res.output)).astype(int)
    mask = np.asarray(Image.open(tmp_path / "m.png")) > 0
    diff = np.abs(out - astronaut()).max(axis=2)
    rows, cols = FACE
    assert mask[rows, cols].all() and (diff[rows, cols] > 0).mean() > 0.8
    assert (diff[~mask] == 0).all()
    assert (src.read_bytes() == _png(astronaut()))  # the input is untouched


def _png(pixels) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def test_a_photo_changed_between_the_two_decodes_is_refused(tmp_path, huge):
    """The mask belongs to the pixels analysed: a file replaced meanwhile is an error, nothing written."""
    from fuzzypeople import Anonymizer
    from fuzzypeople.errors import FuzzyError

    anon = Anonymizer("solid")
    detect = anon.detector
    src, dst = tmp_path / "a.png", tmp_path / "o.png"
    Image.fromarray(astronaut()).save(src)

    def detector(rgb):
        Image.fromarray(astronaut()[:, ::-1]).save(src)  # someone overwrites the photo mid-run
        return detect(rgb)

    anon.detector = detector
    with pytest.raises(FuzzyError, match="changed while"):
        anon.anonymize_file(src, dst)
    assert not dst.exists() and [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_small_and_multi_frame_photos_are_decoded_once(tmp_path, monkeypatch):
    """Only huge single photos are decoded twice: ordinary ones keep their one-decode path."""
    from fuzzypeople import Anonymizer
    from fuzzypeople.pipeline import photo

    reads = _spy_reads(monkeypatch, photo)
    src = tmp_path / "a.png"
    Image.fromarray(astronaut()).save(src)
    Anonymizer("solid").anonymize_file(src, tmp_path / "o.png")
    assert len(reads) == 1


def test_scramble_in_place_reads_the_margin_but_writes_only_the_band():
    """A band of a huge photo: sources come from ``radius`` rows around it, only its masked pixels change,
    and with the same seed they are the pixels a one-pass scramble gives."""
    from fuzzypeople.obfuscate import scramble
    from fuzzypeople.obfuscate._common import Params

    img = astronaut()
    mask = np.zeros(img.shape[:2], bool)
    mask[200:260, 150:400] = True  # the band: rows 200-260 of a 120-row slice with 30 rows margin
    out = img.copy()
    scramble.scramble_in_place(out[170:290], mask[170:290], 30, seed=3)
    changed = (out != img).any(axis=2)
    assert changed[mask].mean() > 0.9 and not changed[~mask].any()
    # sources above and below the band were used (a pixel's value came from outside rows 200-260)
    src_rows = [np.flatnonzero((img[170:290, x] == out[230, x]).all(axis=1)) + 170 for x in range(150, 400, 7)]
    assert any(((r < 200) | (r >= 260)).any() for r in src_rows)
    old = scramble.CACHE_PIXELS
    try:  # the one-pass scramble with a windowed field (what bands over CACHE_PIXELS get)
        scramble.CACHE_PIXELS = 0
        whole = scramble.apply(img[170:290], mask[170:290], Params(radius=30, seed=3))
    finally:
        scramble.CACHE_PIXELS = old
    assert (whole == out[170:290]).all()
    rows_only = img.copy()  # the band's own rows of the mask, placed by ``top``: the same pixels
    scramble.scramble_in_place(rows_only[170:290], mask[200:260], 30, seed=3, top=30)
    assert (rows_only == out).all()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_large_decode_holds_one_copy_of_the_pixels(tmp_path):
    """A 30 MP PNG is decoded with at most 1.3 copies of its pixels resident at the peak
    (OpenCV's PNG decoder used to hold a second full copy, and a whole-array cvtColor a third)."""
    import cv2

    h, w = 5000, 6001  # 6001 x 3 bytes: rows are no multiple of anything; 5000 rows: a partial last band
    tile = cv2.resize(astronaut(), (w // 4 + 1, h // 4))
    img = np.tile(tile, (4, 4, 1))[:h, :w]
    src = tmp_path / "big.png"
    assert cv2.imwrite(str(src), img[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    code = textwrap.dedent(f"""
        import cv2, numpy as np
        from fuzzypeople.io import image

        def peak():  # this process's own high-water mark (ru_maxrss can carry the parent's over exec)
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))

        before = peak()
        img = image.read_image({str(src)!r})
        grew = peak() - before
        ref = np.load({str(tmp_path / 'ref.npy')!r})
        print(grew / img.pixels.nbytes, bool((img.pixels == ref).all()), img.pixels.shape)
    """)
    np.save(tmp_path / "ref.npy", img)
    del img, tile
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    ratio, same, shape = r.stdout.split(maxsplit=2)
    assert same == "True" and shape.strip() == f"({h}, {w}, 3)"
    assert float(ratio) < 1.3, f"peak RSS grew by {float(ratio):.2f} copies of the pixels"
