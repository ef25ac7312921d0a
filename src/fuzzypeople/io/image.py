"""Photos in and out, with Pillow (and tifffile / OpenCV for deep colour).

:func:`read_image` turns any JPEG, PNG, WebP, TIFF, BMP, GIF or HEIC/HEIF into an
:class:`ImageFile`: the picture upright (EXIF orientation applied), an 8-bit
RGB view for the detectors made from the pixels' *real* value range (16-bit,
10/12-bit data stored in 16 bits, float 0-1 or 0-255), and the pixels at
their own precision (uint8, uint16 or float32; grey, alpha) for the
obfuscation. Animated GIF/WebP/PNG and multi-page TIFF keep every frame.
:func:`encode_image` writes the result in the same format and depth where
the format allows it, with all metadata stripped unless asked.

>>> white_level(np.array([[0, 4095]], np.uint16)), white_level(np.array([[0.0, 0.5]], np.float32))
(4095.0, 1.0)
>>> to_8bit(np.array([[0, 4095]], np.uint16), 4095.0).tolist()
[[0, 255]]
"""

from __future__ import annotations

import io as _io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import FuzzyError
from .atomic import atomic_path, write_failure

try:  # HEIC/HEIF (phone photos), when pillow-heif is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF = True
except ImportError:  # pragma: no cover - optional
    HEIF = False

FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "GIF": ".gif"}
FORMAT_EXTENSIONS = {
    "JPEG": {".jpg", ".jpeg", ".jpe"}, "PNG": {".png"}, "WEBP": {".webp"},
    "TIFF": {".tif", ".tiff"}, "BMP": {".bmp"}, "GIF": {".gif"},
}
if HEIF:
    FORMATS["HEIF"] = ".heic"
    FORMAT_EXTENSIONS["HEIF"] = {".heic", ".heif"}
EXTENSIONS = set().union(*FORMAT_EXTENSIONS.values())
# Formats that hold several frames (animation, pages); the others get one.
MULTI_FRAME = {"GIF", "WEBP", "PNG", "TIFF"}
# Formats written as JPEG by default (the user's -o may ask for another).
DEFAULT_OUTPUT = {"HEIF": ".jpg"}
MAX_PIXELS = 250_000_000  # larger images are refused as possible decompression bombs
# Larger 8-bit RGB photos are decoded and encoded with OpenCV straight to and
# from one numpy array (Pillow would hold a 4-byte-per-pixel copy beside it).
LARGE_PIXELS = 24_000_000
_CV2_FORMATS = {"JPEG", "PNG", "TIFF", "BMP", "WEBP"}
GPS_IFD = 0x8825
ORIENTATION = 0x0112
XMP_TAG = 700  # TIFF: XMP packet
IPTC_TAGS = (33723, 34377)  # TIFF: IPTC-NAA, Photoshop (holds IPTC: city, location)


@dataclass
class ImageFile:
    """A decoded photo.

    Attributes:
        pixels: ``(H, W, C)`` array at the file's precision, ``C`` in {1, 3}
            and dtype uint8, uint16 or float32. This is what gets obfuscated.
        alpha: ``(H, W)`` alpha channel (same dtype) or None; kept as it is.
        format: Pillow format name (``"JPEG"``...).
        mode: the Pillow mode it was read in, to write back alike.
        exif, xmp, icc, info: metadata, used only with ``keep_metadata``
            (``icc``, the colour profile, is always kept).
        white: the value that is full white in ``pixels`` (255, 4095 for
            12-bit data in 16 bits, 1.0 for float 0-1...): the analysis copy
            and 8-bit outputs scale by it.
        more: further frames (animation, pages) as ``(pixels, alpha)``.
        durations: each frame's duration in ms (animations), or None.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None
    format: str
    mode: str
    exif: Image.Exif | None = None
    xmp: bytes | None = None
    icc: bytes | None = None
    info: dict = field(default_factory=dict)
    white: float = 255.0
    more: list = field(default_factory=list)
    durations: list | None = None

    @property
    def rgb(self) -> np.ndarray:
        """8-bit RGB ``(H, W, 3)`` for the detectors, scaled by the real value range."""
        return to_rgb8(self.pixels, self.white)

    @property
    def frames(self) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Every frame as ``(pixels, alpha)``, the first one first."""
        return [(self.pixels, self.alpha), *self.more]


def white_level(pixels: np.ndarray) -> float:
    """The value meaning full white: 255 for 8-bit; for 16-bit the smallest
    ``2**bits - 1`` holding the data (8-bit values stored in 16 bits stay
    0-255, 12-bit data is 0-4095); floats are 0-1 or 0-255 (else their maximum)."""
    if pixels.dtype == np.uint8:
        return 255.0
    step = max(1, pixels.size // 4_000_000)  # a sample is enough for the maximum's magnitude
    flat = pixels.reshape(-1)
    top = float(max(np.nanmax(flat[::step]), np.nanmax(pixels))) if pixels.size else 0.0
    if not np.isfinite(top):
        finite = pixels[np.isfinite(pixels)]
        top = float(finite.max()) if finite.size else 0.0
    if np.issubdtype(pixels.dtype, np.floating):
        if top <= 1.0 + 1e-3:
            return 1.0
        if top <= 255.5:
            return 255.0
    bits = max(8, int(np.ceil(np.log2(max(top, 1.0) + 1))))
    return float(2**bits - 1)


def to_8bit(pixels: np.ndarray, white: float | None = None) -> np.ndarray:
    """Any uint8/uint16/float array as uint8, ``white`` (default: :func:`white_level`) -> 255."""
    if pixels.dtype == np.uint8:
        return pixels
    white = white_level(pixels) if white is None else white
    out = np.empty(pixels.shape, np.uint8)
    rows = max(1, 8_000_000 // max(1, pixels[0].size))  # in bands: no full-size float copy
    for y in range(0, pixels.shape[0], rows):
        band = pixels[y : y + rows].astype(np.float32)
        band *= np.float32(255.0 / max(white, 1e-12))
        np.nan_to_num(band, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
        np.clip(band, 0, 255, out=band)
        np.rint(band, out=band)
        out[y : y + rows] = band
    return out


def to_rgb8(pixels: np.ndarray, white: float | None = None) -> np.ndarray:
    """Any ``(H, W, C)`` uint8/uint16/float array as 8-bit RGB, by its real value range."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    pixels = pixels[..., :3] if pixels.shape[2] >= 3 else pixels
    pixels = to_8bit(pixels, white)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels)


def check_analysis_copy(path, pixels: np.ndarray, rgb: np.ndarray) -> None:
    """Refuse a photo whose 8-bit analysis copy is near-uniform while the original is not.

    The detectors would see a blank picture and report nobody while the
    picture holds detail (a person) that a viewer stretching levels would see.
    """
    if pixels.dtype == np.uint8:
        return  # the analysis copy is the pixels themselves
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
    small = rgb[::step, ::step]
    lo, hi = np.percentile(small, [0.5, 99.5])
    if hi - lo > 2:
        return
    orig = pixels[::step, ::step].astype(np.float64)
    orig = orig[np.isfinite(orig)]
    if orig.size and len(np.unique(orig)) > 16:
        raise FuzzyError(path, f"its {pixels.dtype} values ({orig.min():.4g}-{orig.max():.4g}) have too little "
                               "contrast for an 8-bit analysis copy; refusing rather than reporting nobody")


# ------------------------------------------------------------------------------------------- reading
def is_photo(path: str | Path) -> bool:
    """Whether Pillow recognises the file as a photo (by content, not name; reads only the header)."""
    if not Path(path).is_file():  # never open a named pipe or a device to sniff it
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return bool(im.format) and im.format not in ("MPEG",)
    except Exception:
        return False


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> ImageFile:
    """Decode a photo file upright, or raise :class:`FuzzyError` saying why not."""
    path = Path(path)
    if not path.is_file():
        raise FuzzyError(path, "no such file" if not path.exists() else
                         "a folder, not a photo" if path.is_dir() else "not a regular file")
    if path.stat().st_size == 0:
        raise FuzzyError(path, "empty file (0 bytes)")
    old_limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = max_pixels
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Corrupt EXIF data": no library noise on stderr
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                im = Image.open(path)
            except UnidentifiedImageError:
                if path.suffix.lower() in FORMAT_EXTENSIONS["TIFF"]:
                    return _read_tifffile(path, max_pixels)
                raise
            with im:
                return _read_pillow(path, im, max_pixels)
    except FuzzyError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FuzzyError(path, f"image too large (over {max_pixels} pixels), refusing a possible decompression bomb") from None
    except UnidentifiedImageError:
        raise FuzzyError(path, "not an image file, or its format is not supported") from None
    except MemoryError:
        raise FuzzyError(path, "not enough memory to decode this image") from None
    except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError, TypeError) as exc:
        raise FuzzyError(path, f"cannot decode image: {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit


def _read_pillow(path: Path, im: Image.Image, max_pixels: int) -> ImageFile:
    fmt = im.format or ""
    if fmt == "MPO":  # multi-picture JPEGs from phones: the first frame is the photo; the rest are not written
        fmt = "JPEG"
    if fmt not in FORMATS:
        raise FuzzyError(path, f"unsupported image format {fmt or 'unknown'}")
    n = getattr(im, "n_frames", 1) if fmt in MULTI_FRAME else 1
    if im.width * im.height * n > max_pixels:
        raise FuzzyError(path, f"image too large ({im.width}x{im.height} pixels"
                               f"{f' x {n} frames' if n > 1 else ''}; limit {max_pixels}), refusing a possible decompression bomb")
    rawmode = _rawmode(im)  # before getexif(), which may load the image (and clear its tiles)
    if fmt == "PNG" and "exif" not in im.info and im.width * im.height > LARGE_PIXELS:
        exif = Image.Exif()  # an eXIf chunk after the pixels would make Pillow decode them all here
    else:
        exif = im.getexif()
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    icc = im.info.get("icc_profile")
    info = dict(im.info)
    if fmt in ("PNG", "TIFF") and im.mode in ("RGB", "RGBA") and ";16" in rawmode:
        # Pillow reads 16-bit colour as 8-bit (the top byte): read it deep.
        if fmt == "TIFF":
            return _read_tifffile(path, max_pixels, exif, xmp, icc, info)
        return _read_deep_png(path, exif, xmp, icc, info)
    if n == 1 and im.width * im.height > LARGE_PIXELS and im.mode == "RGB" and fmt in _CV2_FORMATS and not rawmode.endswith(";16B"):
        large = _read_large(path, exif, xmp, icc, info, fmt, (im.height, im.width))
        if large is not None:
            return large
    if n == 1:
        im.load()
        upright = ImageOps.exif_transpose(im) or im
        return _to_image_file(upright, fmt, exif, xmp, icc, info)
    frames, durations = [], []
    for i in range(n):
        im.seek(i)
        im.load()
        durations.append(int(im.info.get("duration", 100) or 100))
        frame = im
        if fmt == "GIF" or im.mode == "P":  # palettes can change per frame: decode each to RGB(A)
            frame = im.convert("RGBA" if _has_alpha(im) else "RGB")
        frames.append(_to_image_file(frame, fmt, exif, xmp, icc, info))
    first = frames[0]
    shapes = {f.pixels.shape for f in frames}
    if len(shapes) > 1 or len({f.alpha is None for f in frames}) > 1:
        # e.g. TIFF pages of different sizes or modes: one array per page is not possible here
        raise FuzzyError(path, f"its {n} frames/pages differ in size or colour mode; not supported (nothing written)")
    first.more = [(f.pixels, f.alpha) for f in frames[1:]]
    first.durations = durations if fmt != "TIFF" else None
    first.white = max(f.white for f in frames)
    return first


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info


def _rawmode(im: Image.Image) -> str:
    try:
        args = im.tile[0][3] if im.tile else ""
    except (IndexError, TypeError):
        return ""
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return str(args)


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (as Pillow's exif_transpose does) to an ``(H, W, ...)`` array."""
    ops = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
           8: lambda a: np.rot90(a, 1)}
    op = ops.get(int(orientation or 1))
    return np.ascontiguousarray(op(arr)) if op else arr


def _deep_image_file(arr: np.ndarray, fmt: str, exif, xmp, icc, info, orientation: int = 1) -> ImageFile:
    """An ImageFile from an ``(H, W[, C])`` array read outside Pillow (RGB order)."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.dtype not in (np.uint8, np.uint16):
        arr = arr.astype(np.float32)
    arr = _orient(arr, orientation)
    alpha = None
    c = arr.shape[2]
    if c in (2, 4):
        arr, alpha = arr[..., : c - 1], np.ascontiguousarray(arr[..., c - 1])
    elif c > 4:
        arr = arr[..., :3]
    mode = {1: "L", 3: "RGB"}[arr.shape[2]] + ("A" if alpha is not None else "")
    pixels = np.ascontiguousarray(arr)
    return ImageFile(pixels, alpha, fmt, mode, exif, xmp, icc, info, white_level(pixels))


def _read_large(path: Path, exif, xmp, icc, info, fmt: str, shape) -> ImageFile | None:
    """A large 8-bit RGB photo decoded by OpenCV into one array (RGB order, upright), or None."""
    import cv2

    flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    arr = np.empty((*shape, 3), np.uint8)
    try:  # decoded straight into ``arr``: without it OpenCV's PNG decoder holds a second full-size copy
        got = cv2.imread(str(path), arr, flags)
    except (cv2.error, TypeError):  # an OpenCV without imread(path, dst, flags)
        del arr
        got = cv2.imread(str(path), flags)
    arr = got
    if arr is None or arr.shape[:2] != tuple(shape):
        return None
    for y in range(0, arr.shape[0], 256):  # in place, in bands (a whole-array cvtColor copies its input)
        band = arr[y : y + 256]
        cv2.cvtColor(band, cv2.COLOR_BGR2RGB, dst=band)
    arr = _orient(arr, exif.get(ORIENTATION, 1) if exif else 1)
    return ImageFile(arr, None, fmt, "RGB", exif, xmp, icc, info, 255.0)


def _read_deep_png(path: Path, exif, xmp, icc, info) -> ImageFile:
    import cv2

    arr = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise FuzzyError(path, "cannot decode its 16-bit colour")
    if arr.ndim == 3:
        arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]  # BGR(A) -> RGB(A)
    return _deep_image_file(arr, "PNG", exif, xmp, icc, info, exif.get(ORIENTATION, 1) if exif else 1)


def _read_tifffile(path: Path, max_pixels: int, exif=None, xmp=None, icc=None, info=None) -> ImageFile:
    """TIFFs Pillow cannot read faithfully: 16-bit colour, float colour, several deep pages."""
    try:
        import tifffile
    except ImportError:  # pragma: no cover
        raise FuzzyError(path, "cannot read this TIFF (16-bit/float colour needs the tifffile package)") from None
    try:
        with tifffile.TiffFile(path) as tif:
            pages = list(tif.pages)
            if not pages:
                raise FuzzyError(path, "a TIFF with no image in it")
            shape = pages[0].shape
            if int(np.prod(shape[:2])) * len(pages) > max_pixels:
                raise FuzzyError(path, f"image too large ({'x'.join(map(str, shape[:2]))} pixels x {len(pages)} pages; "
                                       f"limit {max_pixels}), refusing a possible decompression bomb")
            tags = pages[0].tags
            orientation = int(tags["Orientation"].value) if "Orientation" in tags else 1
            if icc is None and "InterColorProfile" in tags:
                icc = bytes(tags["InterColorProfile"].value)
            arrays = []
            for page in pages:
                a = page.asarray()
                if a.ndim == 3 and page.planarconfig == 2 and a.shape[0] in (2, 3, 4):  # separate planes
                    a = np.moveaxis(a, 0, -1)
                arrays.append(a)
    except FuzzyError:
        raise
    except Exception as exc:  # tifffile raises many types; all mean "cannot decode"
        raise FuzzyError(path, f"cannot decode image: {exc}") from None
    frames = [_deep_image_file(a, "TIFF", exif, xmp, icc, info or {}, orientation) for a in arrays]
    if len({f.pixels.shape for f in frames}) > 1 or len({f.pixels.dtype for f in frames}) > 1:
        raise FuzzyError(path, f"its {len(frames)} pages differ in size or depth; not supported (nothing written)")
    first = frames[0]
    first.more = [(f.pixels, f.alpha) for f in frames[1:]]
    first.white = max(f.white for f in frames)
    return first


def _to_image_file(im: Image.Image, fmt, exif, xmp, icc, info) -> ImageFile:
    mode = im.mode
    alpha = None
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        pixels = np.asarray(im, dtype=np.uint16)[..., None]
    elif mode in ("I", "F"):
        arr = np.asarray(im)
        if mode == "I" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
            pixels = arr.astype(np.uint16)[..., None]
        else:
            pixels = arr.astype(np.float32)[..., None]
    elif mode in ("L", "1"):
        pixels = np.asarray(im.convert("L"))[..., None]
    elif mode == "LA":
        arr = np.asarray(im.convert("LA"))
        pixels, alpha = arr[..., :1].copy(), arr[..., 1].copy()
    elif mode in ("RGBA", "RGBa") or (mode == "P" and "transparency" in im.info) or mode == "PA":
        arr = np.asarray(im.convert("RGBA"))
        pixels, alpha = arr[..., :3].copy(), arr[..., 3].copy()
    else:  # RGB, P, CMYK, YCbCr, LAB, HSV...
        pixels = np.asarray(im.convert("RGB"))
    pixels = np.ascontiguousarray(pixels)
    return ImageFile(pixels, alpha, fmt, mode, exif, xmp, icc, info, white_level(pixels))


# ------------------------------------------------------------------------------------------- writing
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


def output_format(path: str | Path, img: ImageFile | None = None) -> str:
    """The format to write ``path`` in, by its extension; refuses names that are not a photo format.

    >>> output_format("a.JPEG")
    'JPEG'
    >>> output_format("a.mp4")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fuzzypeople.errors.FuzzyError: a.mp4: cannot write a photo as .mp4; use one of .bmp .gif ... .webp
    """
    ext = Path(path).suffix.lower()
    fmt = format_for(path, "")
    if not fmt:
        choices = " ".join(sorted(FORMATS.values()))
        raise FuzzyError(path, f"cannot write a photo as {ext or 'a name with no extension'}; use one of {choices}")
    if img is not None and len(img.more) and fmt not in MULTI_FRAME:
        raise FuzzyError(path, f"the input has {len(img.more) + 1} frames/pages and {ext} holds one; "
                               "write .gif, .webp, .png or .tif (nothing written)")
    return fmt


_GPS_XMP = re.compile(
    rb"""\s*(?:<((?:exif|exifEX):GPS\w*)\b[^>]*?(?:/>|>.*?</\1\s*>))"""  # elements <exif:GPSLatitude>..</..>
    rb"""|\s+(?:exif|exifEX):GPS\w*\s*=\s*(?:"[^"]*"|'[^']*')""",  # attributes exif:GPSLatitude="..."
    re.S,
)


def strip_xmp_gps(xmp: bytes) -> bytes:
    """An XMP packet without its GPS properties (``exif:GPS*``, as elements or attributes).

    >>> strip_xmp_gps(b'<rdf:Description exif:GPSLatitude="51,30N" a="1"><exif:GPSLongitude>0,7W</exif:GPSLongitude></rdf:Description>')
    b'<rdf:Description a="1"></rdf:Description>'
    """
    return _GPS_XMP.sub(b"", xmp)


def encode_image(
    img: ImageFile, pixels: np.ndarray, keep_metadata: bool = False, keep_gps: bool = False, fmt: str | None = None,
    more: list[np.ndarray] | None = None,
) -> bytes:
    """Encode ``pixels`` (same layout as ``img.pixels``; ``more``: the other frames) like ``img`` was stored.

    The depth is kept where the format allows it (16-bit and float TIFF,
    16-bit PNG); otherwise the pixels are scaled to 8 bits by ``img.white``.
    """
    fmt = fmt or img.format
    frames = [pixels, *(more or [])]
    alphas = [a for _, a in img.frames][: len(frames)]
    deep = pixels.dtype != np.uint8
    if deep and fmt in ("PNG", "TIFF") and (pixels.shape[2] == 3 or alphas[0] is not None or pixels.dtype == np.float32):
        if not (fmt == "TIFF" and pixels.dtype == np.float32 and pixels.shape[2] == 1 and alphas[0] is None):
            return _encode_deep(img, frames, alphas, fmt)
    ims = [_from_arrays(p, a, img.mode, fmt, img.white) for p, a in zip(frames, alphas)]
    kwargs: dict = {}
    if img.icc and fmt != "GIF":  # a colour profile is not personal data and keeps colours right
        kwargs["icc_profile"] = img.icc
    if fmt == "JPEG":
        kwargs.update(quality=95, subsampling=0)  # 4:4:4: no colour bleeding at the mask edge
    elif fmt == "WEBP":
        kwargs.update(lossless=bool(img.info.get("lossless", False)), quality=95)
    elif fmt == "TIFF":
        kwargs.update(compression="tiff_lzw")
    elif fmt == "HEIF":
        kwargs.update(quality=90)
    if keep_metadata:
        _metadata_kwargs(img, fmt, keep_gps, kwargs)
    if len(ims) > 1:
        kwargs.update(save_all=True, append_images=ims[1:])
        if img.durations and fmt in ("GIF", "WEBP", "PNG"):
            kwargs.update(duration=img.durations[: len(ims)], loop=int(img.info.get("loop", 0) or 0))
        if fmt == "GIF":
            kwargs.update(disposal=2)
    elif fmt == "GIF" and img.durations:
        kwargs.update(duration=img.durations[0])
    buf = _io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ims[0].save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def _metadata_kwargs(img: ImageFile, fmt: str, keep_gps: bool, kwargs: dict) -> None:
    xmp = img.xmp if isinstance(img.xmp, (bytes, type(None))) else str(img.xmp).encode()
    if xmp and not keep_gps:
        xmp = strip_xmp_gps(xmp)
    if img.exif is not None and len(img.exif):
        exif = img.exif  # our in-memory copy; the input file is never touched
        if keep_gps:
            exif.get_ifd(GPS_IFD)  # load the GPS block so it is written back
        else:
            exif.pop(GPS_IFD, None)
            for tag in IPTC_TAGS:  # IPTC holds place names (city, sublocation)
                exif.pop(tag, None)
        if XMP_TAG in exif:
            if xmp:
                exif[XMP_TAG] = xmp
            else:
                exif.pop(XMP_TAG, None)
        exif[ORIENTATION] = 1  # pixels are already upright
        if fmt != "GIF":
            kwargs["exif"] = exif.tobytes()
    if xmp and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
        kwargs["xmp"] = xmp


def _encode_deep(img: ImageFile, frames, alphas, fmt: str) -> bytes:
    """16-bit colour PNG (OpenCV) or 16-bit / float TIFF (tifffile): the depth kept."""
    arrays = []
    for p, a in zip(frames, alphas):
        if fmt == "PNG" and p.dtype != np.uint16:  # float -> 16-bit PNG, by its white level
            p = _scale(p, img.white, 65535.0, np.uint16)
            a = None if a is None else _scale(a, img.white, 65535.0, np.uint16)
        arrays.append(p if a is None else np.dstack([p, a.astype(p.dtype)]))
    if fmt == "PNG":
        import cv2

        if len(arrays) > 1:
            raise FuzzyError(None, "cannot write several 16-bit colour frames as PNG; use .tif")
        arr = arrays[0]
        if arr.shape[2] >= 3:
            arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]
        ok, data = cv2.imencode(".png", np.ascontiguousarray(arr))
        if not ok:
            raise FuzzyError(None, "OpenCV could not encode the 16-bit PNG")
        return data.tobytes()
    import tifffile

    buf = _io.BytesIO()
    with tifffile.TiffWriter(buf) as tw:
        for arr in arrays:
            c = arr.shape[2]
            photometric = "rgb" if c >= 3 else "minisblack"
            extra = ["unassalpha"] if c in (2, 4) else None
            tw.write(arr if c > 1 else arr[..., 0], photometric=photometric, compression="zlib",
                     extrasamples=extra, iccprofile=img.icc if img.icc and c >= 3 else None)
    return buf.getvalue()


def _scale(a: np.ndarray, white: float, to: float, dtype) -> np.ndarray:
    x = a.astype(np.float32) * np.float32(to / max(white, 1e-12))
    np.nan_to_num(x, copy=False, nan=0.0, posinf=to, neginf=0.0)
    return np.rint(np.clip(x, 0, to)).astype(dtype)


def _from_arrays(pixels: np.ndarray, alpha, mode: str, fmt: str, white: float = 255.0) -> Image.Image:
    if pixels.dtype == np.float32 and fmt == "TIFF" and pixels.shape[2] == 1:
        return Image.fromarray(np.ascontiguousarray(pixels[..., 0]), mode="F")
    if pixels.dtype == np.uint16 and pixels.shape[2] == 1 and fmt in ("PNG", "TIFF") and alpha is None:
        return Image.fromarray(np.ascontiguousarray(pixels[..., 0].astype("<u2")))
    if pixels.dtype != np.uint8:  # the format cannot hold this depth: 8 bits by the real range
        pixels = to_8bit(pixels, white)
        alpha = None if alpha is None else to_8bit(alpha, white)
    if pixels.shape[2] == 1:
        if alpha is not None and fmt in ("PNG", "WEBP", "TIFF", "GIF"):
            return Image.fromarray(np.dstack([pixels[..., 0], alpha]))  # -> mode LA
        gray = Image.fromarray(np.ascontiguousarray(pixels[..., 0]))
        return gray.convert("1") if mode == "1" and fmt not in ("JPEG", "GIF") else gray
    if alpha is not None and fmt in ("PNG", "WEBP", "TIFF", "GIF"):
        return Image.fromarray(np.dstack([pixels, alpha]))
    im = Image.fromarray(np.ascontiguousarray(pixels))
    if mode == "CMYK" and fmt in ("JPEG", "TIFF"):
        return im.convert("CMYK")
    return im


def write_large(path: str | Path, img: ImageFile, pixels: np.ndarray, keep_metadata: bool, fmt: str) -> bool:
    """Write a large single-frame 8-bit RGB photo with OpenCV, streaming to the file (no
    encoded copy in memory). Returns False (nothing written) where Pillow must write it:
    metadata or a colour profile to keep, alpha, other depths, formats OpenCV lacks.
    ``pixels`` is turned to BGR in place and must not be used afterwards."""
    import cv2

    if (pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3 or img.alpha is not None or img.more
            or pixels.shape[0] * pixels.shape[1] <= LARGE_PIXELS or fmt not in _CV2_FORMATS
            or img.icc or keep_metadata or img.mode == "CMYK"):
        return False
    params = {"JPEG": [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444],
              "WEBP": [cv2.IMWRITE_WEBP_QUALITY, 95], "PNG": [cv2.IMWRITE_PNG_COMPRESSION, 6],
              "TIFF": [cv2.IMWRITE_TIFF_COMPRESSION, 5]}.get(fmt, [])
    for y in range(0, pixels.shape[0], 256):  # in place, in bands: no second full-size image
        band = pixels[y : y + 256]
        cv2.cvtColor(band, cv2.COLOR_RGB2BGR, dst=band)
    with atomic_path(path, suffix=FORMATS[fmt]) as tmp:
        try:
            ok = cv2.imwrite(str(tmp), pixels, params)
        except cv2.error as exc:
            raise FuzzyError(path, f"cannot encode the image: {exc}") from None
        if not ok:
            raise FuzzyError(path, "OpenCV could not write the image")
    return True


def write_image(path: str | Path, data: bytes) -> None:
    """Write encoded bytes atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise write_failure(path, exc) from None


def write_array_png(array: np.ndarray, path: str | Path) -> None:
    """Write a 2-D uint8 array as a PNG, atomically, with no metadata."""
    buf = _io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG")
    write_image(path, buf.getvalue())
