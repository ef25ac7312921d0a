"""Photo formats, metadata stripping, orientation, atomic writes."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from fuzzypeople import Anonymizer, FuzzyError
from fuzzypeople.io.image import read_image

GPS = 0x8825


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def anon():
    return Anonymizer("solid", color=(255, 0, 255))


def jpeg_with_metadata(path, rgb, orientation=1):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0112] = orientation
    exif[GPS] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>secret</rdf:Description></rdf:RDF></x:xmpmeta>'
    Image.fromarray(rgb).save(path, exif=exif, xmp=xmp, comment=b"taken at home", quality=95)


def test_metadata_stripped_by_default(tmp_path, astronaut, anon):
    src = tmp_path / "a.jpg"
    jpeg_with_metadata(src, astronaut)
    assert Image.open(src).getexif().get(GPS) is not None  # the test file really has GPS
    res = anon.anonymize_file(src)
    out = Image.open(res.output)
    assert len(out.getexif()) == 0
    assert "xmp" not in out.info and "comment" not in out.info
    assert b"SpyCam" not in res.output.read_bytes() and b"secret" not in res.output.read_bytes()


def test_keep_metadata_keeps_exif_but_not_gps(tmp_path, astronaut, anon):
    src = tmp_path / "a.jpg"
    jpeg_with_metadata(src, astronaut)
    out = Image.open(anon.anonymize_file(src, keep_metadata=True).output)
    exif = out.getexif()
    assert exif.get(0x010F) == "SpyCam" and GPS not in exif
    out2 = Image.open(anon.anonymize_file(src, tmp_path / "g.jpg", keep_metadata=True, keep_gps=True).output)
    assert GPS in out2.getexif()


def test_exif_orientation_applied_before_detection(tmp_path, astronaut, anon):
    src = tmp_path / "rot.jpg"
    # Stored rotated 90 degrees with orientation 6 ("rotate 90 CW to view"): viewers show it upright.
    jpeg_with_metadata(src, np.rot90(astronaut, 1).copy(), orientation=6)
    res = anon.anonymize_file(src, tmp_path / "rot_out.png")
    out = np.asarray(Image.open(res.output))
    assert out.shape == astronaut.shape  # written upright
    assert res.people >= 1
    assert (out[80:160, 190:260] == [255, 0, 255]).all(axis=2).mean() > 0.95  # face hidden where it is upright


def test_input_never_modified(grace, anon):
    before = sha(grace)
    res = anon.anonymize_file(grace)
    assert sha(grace) == before and res.output != grace and res.output.name == "grace_anonymized.jpg"


def test_output_may_not_overwrite_input(grace, anon):
    with pytest.raises(FuzzyError, match="overwrite the input"):
        anon.anonymize_file(grace, grace)


@pytest.mark.parametrize("fmt,ext,mode", [
    ("PNG", ".png", "RGB"), ("PNG", ".png", "RGBA"), ("PNG", ".png", "L"), ("PNG", ".png", "P"),
    ("PNG", ".png", "I;16"), ("WEBP", ".webp", "RGB"), ("TIFF", ".tif", "RGB"), ("TIFF", ".tif", "CMYK"),
    ("BMP", ".bmp", "RGB"), ("JPEG", ".jpg", "CMYK"), ("JPEG", ".jpg", "L"),
])
def test_formats_and_modes_round_trip(tmp_path, astronaut, anon, fmt, ext, mode):
    im = Image.fromarray(astronaut)
    if mode == "RGBA":
        im.putalpha(Image.fromarray(np.full(astronaut.shape[:2], 200, np.uint8)))
    elif mode == "I;16":
        im = Image.fromarray(np.asarray(im.convert("L")).astype(np.uint16) * 257)
    else:
        im = im.convert(mode)
    src = tmp_path / f"in{ext}"
    im.save(src, format=fmt)
    res = anon.anonymize_file(src)
    out = Image.open(res.output)
    assert out.format == fmt and out.size == im.size
    assert res.people >= 1
    if mode == "RGBA":
        assert out.mode == "RGBA" and (np.asarray(out)[..., 3] == 200).all()  # alpha kept
    if mode == "I;16":
        assert out.mode.startswith("I") and np.asarray(out).max() > 255  # still 16-bit
    mask = anon.analyse(read_image(src).rgb)[1]
    assert mask.any() and not mask.all()
    diff = np.abs(np.asarray(out.convert("RGB")).astype(int) - np.asarray(im.convert("RGB")).astype(int)).max(axis=2)
    if fmt in ("JPEG", "WEBP"):  # lossy re-encoding: compression blocks at the mask edge change
        from fuzzypeople.masks import dilate

        far = ~dilate(mask, 16)
        assert diff[far].mean() < (3 if fmt == "JPEG" else 4.5)  # WebP: 4:2:0 chroma
    else:  # lossless: every pixel outside the mask is exactly as it was
        assert diff[~mask].max() == 0


def test_decompression_bomb_refused(tmp_path, anon):
    src = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(src)  # 400 megapixels in a few kB
    assert src.stat().st_size < 200_000
    with pytest.raises(FuzzyError, match="decompression bomb"):
        anon.anonymize_file(src)
    assert not (tmp_path / "bomb_anonymized.png").exists()


@pytest.mark.parametrize("content,problem", [
    (b"", "empty file"), (b"hello, not an image", "not an image"),
])
def test_unreadable_files(tmp_path, anon, content, problem):
    src = tmp_path / "bad.jpg"
    src.write_bytes(content)
    with pytest.raises(FuzzyError, match=problem):
        anon.anonymize_file(src)
    assert list(tmp_path.iterdir()) == [src]  # no output, no temp file


def test_truncated_jpeg(tmp_path, astronaut_jpg, anon):
    src = tmp_path / "cut.jpg"
    src.write_bytes(astronaut_jpg.read_bytes()[:5000])
    with pytest.raises(FuzzyError, match="cut.jpg: cannot decode"):
        anon.anonymize_file(src)
    assert not (tmp_path / "cut_anonymized.jpg").exists()


def test_read_image_gives_rgb_view(grace):
    img = read_image(grace)
    assert img.rgb.shape == (600, 512, 3) and img.rgb.dtype == np.uint8
