"""Photos in and out, with Pillow.

:func:`read_image` turns any JPEG, PNG, WebP, TIFF or BMP into an
:class:`ImageFile`: the picture upright (EXIF orientation applied), an 8-bit
RGB view for the detectors, and the pixels at their own precision (16-bit,
grey, alpha) for the obfuscation. :func:`write_image` writes the result in
the same format, atomically, with all metadata stripped unless asked.
"""

from __future__ import annotations

import io as _io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import FuzzyError
from .atomic import atomic_path

FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
FORMAT_EXTENSIONS = {
    "JPEG": {".jpg", ".jpeg", ".jpe"}, "PNG": {".png"}, "WEBP": {".webp"},
    "TIFF": {".tif", ".tiff"}, "BMP": {".bmp"},
}
EXTENSIONS = set().union(*FORMAT_EXTENSIONS.values())
MAX_PIXELS = 250_000_000  # larger images are refused as possible decompression bombs
GPS_IFD = 0x8825
ORIENTATION = 0x0112


@dataclass
class ImageFile:
    """A decoded photo.

    Attributes:
        pixels: ``(H, W, C)`` array at the file's precision, ``C`` in {1, 3}
            and dtype uint8 or uint16. This is what gets obfuscated.
        alpha: ``(H, W)`` alpha channel (same dtype) or None; kept as it is.
        format: Pillow format name (``"JPEG"``...).
        mode: the Pillow mode it was read in, to write back alike.
        exif, xmp, icc, info: metadata, used only with ``keep_metadata``.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    format: str
    mode: str
    exif: Image.Exif | None = None
    xmp: bytes | None = None
    icc: bytes | None = None
    info: dict = field(default_factory=dict)

    @property
    def rgb(self) -> np.ndarray:
        """8-bit RGB ``(H, W, 3)`` for the detectors."""
        return to_rgb8(self.pixels)


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """Any ``(H, W, C)`` uint8/uint16 array as 8-bit RGB."""
    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> ImageFile:
    """Decode a photo file upright, or raise :class:`FuzzyError` saying why not."""
    path = Path(path)
    if not path.is_file():
        raise FuzzyError(path, "no such file" if not path.exists() else "not a regular file")
    if path.stat().st_size == 0:
        raise FuzzyError(path, "empty file (0 bytes)")
    old_limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = max_pixels
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt = im.format or ""
                if fmt == "MPO":  # multi-picture JPEGs from phones: first frame is the photo
                    fmt = "JPEG"
                if fmt not in FORMATS:
                    raise FuzzyError(path, f"unsupported image format {fmt or 'unknown'}")
                if im.width * im.height > max_pixels:
                    raise FuzzyError(path, f"image too large ({im.width}x{im.height} pixels; limit {max_pixels}), refusing a possible decompression bomb")
                exif = im.getexif()
                xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
                icc = im.info.get("icc_profile")
                im.load()
                upright = ImageOps.exif_transpose(im) or im
                return _to_image_file(upright, fmt, exif, xmp, icc, dict(im.info))
    except FuzzyError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FuzzyError(path, f"image too large (over {max_pixels} pixels), refusing a possible decompression bomb") from None
    except UnidentifiedImageError:
        raise FuzzyError(path, "not an image file, or its format is not supported") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise FuzzyError(path, f"cannot decode image: {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit


def _to_image_file(im: Image.Image, fmt, exif, xmp, icc, info) -> ImageFile:
    mode = im.mode
    alpha = None
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        pixels = np.asarray(im, dtype=np.uint16)[..., None]
    elif mode in ("I", "F"):
        arr = np.asarray(im)
        pixels = np.clip(arr, 0, 65535).astype(np.uint16)[..., None]
    elif mode in ("L", "1"):
        pixels = np.asarray(im.convert("L"))[..., None]
    elif mode == "LA":
        arr = np.asarray(im)
        pixels, alpha = arr[..., :1].copy(), arr[..., 1].copy()
    elif mode in ("RGBA", "RGBa") or (mode == "P" and "transparency" in im.info) or mode == "PA":
        arr = np.asarray(im.convert("RGBA"))
        pixels, alpha = arr[..., :3].copy(), arr[..., 3].copy()
    else:  # RGB, P, CMYK, YCbCr, LAB, HSV...
        pixels = np.asarray(im.convert("RGB"))
    return ImageFile(np.ascontiguousarray(pixels), alpha, fmt, mode, exif, xmp, icc, info)


def format_for(path: str | Path, default: str) -> str:
    """The Pillow format an output path asks for by its extension, else ``default``.

    >>> format_for("out.png", "JPEG"), format_for("out.unknown", "JPEG")
    ('PNG', 'JPEG')
    """
    ext = Path(path).suffix.lower()
    for fmt, exts in FORMAT_EXTENSIONS.items():
        if ext in exts:
            return fmt
    return default


def encode_image(
    img: ImageFile, pixels: np.ndarray, keep_metadata: bool = False, keep_gps: bool = False, fmt: str | None = None
) -> bytes:
    """Encode ``pixels`` (same layout as ``img.pixels``) like ``img`` was stored."""
    fmt = fmt or img.format
    im = _from_arrays(pixels, img.alpha, img.mode, fmt)
    kwargs: dict = {}
    if img.icc:  # a colour profile is not personal data and keeps colours right
        kwargs["icc_profile"] = img.icc
    if fmt == "JPEG":
        kwargs.update(quality=95, subsampling=0)  # 4:4:4: no colour bleeding at the mask edge
    elif fmt == "WEBP":
        kwargs.update(lossless=bool(img.info.get("lossless", False)), quality=95)
    elif fmt == "TIFF":
        kwargs.update(compression="tiff_lzw")
    if keep_metadata:
        if img.exif is not None and len(img.exif):
            exif = img.exif  # our in-memory copy; the input file is never touched
            if keep_gps:
                exif.get_ifd(GPS_IFD)  # load the GPS block so it is written back
            else:
                exif.pop(GPS_IFD, None)
            exif[ORIENTATION] = 1  # pixels are already upright
            kwargs["exif"] = exif.tobytes()
        if img.xmp and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
            kwargs["xmp"] = img.xmp if isinstance(img.xmp, bytes) else str(img.xmp).encode()
    buf = _io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _from_arrays(pixels: np.ndarray, alpha, mode: str, fmt: str) -> Image.Image:
    if pixels.dtype == np.uint16:
        if pixels.shape[2] != 1:
            pixels = pixels[..., :3]
            return Image.fromarray(to_rgb8(pixels))
        return Image.fromarray(np.ascontiguousarray(pixels[..., 0].astype("<u2")))
    if pixels.shape[2] == 1:
        if alpha is not None and fmt in ("PNG", "WEBP", "TIFF"):
            return Image.fromarray(np.dstack([pixels[..., 0], alpha]))  # -> mode LA
        gray = Image.fromarray(np.ascontiguousarray(pixels[..., 0]))
        return gray.convert("1") if mode == "1" and fmt != "JPEG" else gray
    if alpha is not None and fmt in ("PNG", "WEBP", "TIFF"):
        return Image.fromarray(np.dstack([pixels, alpha]))
    im = Image.fromarray(np.ascontiguousarray(pixels))
    if mode == "CMYK" and fmt in ("JPEG", "TIFF"):
        return im.convert("CMYK")
    return im


def write_image(path: str | Path, data: bytes) -> None:
    """Write encoded bytes atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_array_png(array: np.ndarray, path: str | Path) -> None:
    """Write a 2-D uint8 array as a PNG, atomically, with no metadata."""
    buf = _io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG")
    write_image(path, buf.getvalue())
