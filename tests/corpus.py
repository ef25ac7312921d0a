"""A corpus of awkward photo files, made at test time (nothing binary is committed).

Every picture is the astronaut (``skimage.data.astronaut()``, Eileen Collins:
face at rows 80-160, columns 190-260) stored in one pixel format or
container. :func:`make_formats` writes them into a folder and returns, per
file name, the pixel arrays that were stored (one per frame) and how far the
picture is shifted right in each frame, so a test can check that the face's
pixels changed in every frame of the output, and that the rest did not.

>>> import tempfile
>>> cases = make_formats(Path(tempfile.mkdtemp()))
>>> sorted(cases)[:3]
['apng.png', 'cmyk.jpg', 'cmykt.tif']
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image
from skimage import data

FACE = (slice(80, 160), slice(190, 260))  # rows, columns of the astronaut's face
SHIFT = 40  # animated cases: frame i is the astronaut rolled i * SHIFT pixels right


@dataclass
class Case:
    """A corpus file: what was stored, and what the output must keep."""

    frames: list[np.ndarray]  # the stored pixels, (H, W[, C]) per frame, in the file's dtype and range
    dtype: str | None = None  # dtype the output must keep (None: any)
    lossless: bool = True  # the output format is lossless: pixels away from the person stay exact
    white: float = 255.0  # full white in the stored values


def astronaut() -> np.ndarray:
    return data.astronaut()


def grey(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))


def make_formats(folder: Path) -> dict[str, Case]:
    """Write one file per pixel format / container into ``folder``; return their cases by name."""
    folder.mkdir(parents=True, exist_ok=True)
    a = astronaut()
    g = grey(a)
    cases: dict[str, Case] = {}

    def pil(name, im, case, **kw):
        im.save(folder / name, **kw)
        cases[name] = case

    # 8-bit, as most photos are
    pil("rgb8.png", Image.fromarray(a), Case([a], "uint8"))
    pil("jpeg8.jpg", Image.fromarray(a), Case([a], lossless=False), quality=95)
    # 16-bit grey holding 8-bit values (0-255): looked black to the detector before
    g16_low = g.astype(np.uint16)
    pil("grey16_0_255.png", Image.fromarray(g16_low), Case([g16_low], "uint16"))
    g16 = g.astype(np.uint16) * 257
    pil("grey16.png", Image.fromarray(g16), Case([g16], "uint16", white=65535))
    # 10- and 12-bit data stored in 16 bits, colour: Pillow reads only the top byte
    rgb12 = a.astype(np.uint16) * 16
    cv2.imwrite(str(folder / "rgb12.png"), rgb12[..., ::-1])
    cases["rgb12.png"] = Case([rgb12], "uint16", white=4095)
    tifffile.imwrite(folder / "rgb12t.tif", rgb12, photometric="rgb")
    cases["rgb12t.tif"] = Case([rgb12], "uint16", white=4095)
    rgb10 = a.astype(np.uint16) * 4
    tifffile.imwrite(folder / "rgb10.tif", rgb10, photometric="rgb")
    cases["rgb10.tif"] = Case([rgb10], "uint16", white=1023)
    rgb16 = a.astype(np.uint16) * 257
    cv2.imwrite(str(folder / "rgb16.png"), rgb16[..., ::-1])
    cases["rgb16.png"] = Case([rgb16], "uint16", white=65535)
    # float TIFF, 0-1 and 0-255, colour and grey
    f01 = a.astype(np.float32) / 255
    tifffile.imwrite(folder / "float01.tif", f01, photometric="rgb")
    cases["float01.tif"] = Case([f01], "float32", white=1.0)
    f255 = a.astype(np.float32)
    tifffile.imwrite(folder / "float255.tif", f255, photometric="rgb")
    cases["float255.tif"] = Case([f255], "float32")
    gf = g.astype(np.float32)
    pil("greyfloat255.tif", Image.fromarray(gf, mode="F"), Case([gf], "float32"))
    # grey + alpha, RGBA, CMYK, palette
    la = np.dstack([g, np.full(g.shape, 200, np.uint8)])
    pil("greyalpha.png", Image.fromarray(la), Case([la], "uint8"))
    rgba = np.dstack([a, np.full(g.shape, 200, np.uint8)])
    pil("rgba.png", Image.fromarray(rgba), Case([rgba], "uint8"))
    cmyk = Image.fromarray(a).convert("CMYK")
    pil("cmyk.jpg", cmyk, Case([np.asarray(cmyk.convert("RGB"))], lossless=False), quality=95)
    pil("cmykt.tif", cmyk, Case([np.asarray(cmyk.convert("RGB"))]))
    pal = Image.fromarray(a).convert("P")
    pil("palette.png", pal, Case([np.asarray(pal.convert("RGB"))]))
    # several frames: animated GIF / PNG / WebP, multi-page TIFF
    frames = [np.roll(a, SHIFT * i, axis=1) for i in range(3)]
    ims = [Image.fromarray(f) for f in frames]
    gif = [np.asarray(im.convert("P").convert("RGB")) for im in ims]
    ims[0].save(folder / "gifanim.gif", save_all=True, append_images=ims[1:], duration=[100, 150, 200], loop=0)
    cases["gifanim.gif"] = Case(gif, lossless=False)
    ims[0].save(folder / "apng.png", save_all=True, append_images=ims[1:], duration=100)
    cases["apng.png"] = Case(frames, "uint8")
    ims[0].save(folder / "webpanim.webp", save_all=True, append_images=ims[1:], duration=100, lossless=True)
    cases["webpanim.webp"] = Case(frames, lossless=False)
    ims[0].save(folder / "pages.tif", save_all=True, append_images=ims[1:])
    cases["pages.tif"] = Case(frames, "uint8")
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        Image.fromarray(a).save(folder / "phone.heic", quality=95)
        cases["phone.heic"] = Case([a], lossless=False)
    except ImportError:
        pass
    return cases


def decode(path: Path) -> list[np.ndarray]:
    """Every frame of a photo file at its stored precision, read with tifffile/OpenCV/Pillow (not fuzzypeople)."""
    from PIL import ImageSequence

    if path.suffix == ".tif":
        try:
            with tifffile.TiffFile(path) as tif:
                return [p.asarray() for p in tif.pages]
        except Exception:  # LZW without imagecodecs: Pillow reads those (8-bit)
            pass
    if path.suffix == ".png":
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is not None and arr.dtype == np.uint16:
            return [arr[..., [2, 1, 0, 3][: arr.shape[2]]] if arr.ndim == 3 else arr]
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    with Image.open(path) as im:
        out = []
        for frame in ImageSequence.Iterator(im):
            if frame.mode in ("P", "CMYK", "1"):
                frame = frame.convert("RGB")
            out.append(np.asarray(frame).copy())
        return out


def corrupt_exif_jpeg(path: Path) -> None:
    """A JPEG whose EXIF block is cut short (Pillow warns "Corrupt EXIF data")."""
    buf = io.BytesIO()
    Image.fromarray(astronaut()).save(buf, "JPEG", quality=90)
    b = buf.getvalue()
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x05\x00\x0f\x01\x02\x00\xff\xff\x00\x00\x00\x10\x00\x00"
    path.write_bytes(b[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + b[2:])
