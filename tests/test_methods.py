"""Every obfuscation method hides exactly the masked pixels."""

import numpy as np
import pytest

from fuzzypeople.obfuscate import METHODS, Params, obfuscate
from fuzzypeople.obfuscate.scramble import offset_field

# Methods that hide what is masked (cloak leaves faces visible: tests/test_cloak.py).
HIDING = sorted(m for m in METHODS if getattr(METHODS[m], "HIDES", True))


@pytest.fixture
def mask():
    m = np.zeros((512, 512), bool)
    m[100:300, 150:260] = True
    m[400:450, 20:60] = True
    return m


@pytest.mark.parametrize("method", HIDING)
def test_only_masked_pixels_change(astronaut, mask, method):
    out = obfuscate(astronaut, mask, method, Params(seed=1))
    assert out.shape == astronaut.shape and out.dtype == astronaut.dtype
    changed = (out != astronaut).any(axis=2)
    assert not changed[~mask].any(), "a pixel outside the mask changed"
    if method != "none":
        assert changed[mask].mean() > 0.5, "most masked pixels should change"


@pytest.mark.parametrize("method", sorted(set(HIDING) - {"none"}))
@pytest.mark.parametrize("layout", ["gray8", "gray16", "rgb16"])
def test_methods_handle_other_pixel_layouts(astronaut, mask, method, layout):
    img = {"gray8": astronaut[..., :1].copy(), "gray16": astronaut[..., :1].astype(np.uint16) * 257,
           "rgb16": astronaut.astype(np.uint16) * 257}[layout]
    out = obfuscate(img, mask, method, Params(seed=1))
    assert out.shape == img.shape and out.dtype == img.dtype
    changed = (out != img).any(axis=2)
    assert not changed[~mask].any() and changed[mask].any()


def test_input_array_is_not_modified(astronaut, mask):
    before = astronaut.copy()
    for method in HIDING:
        obfuscate(astronaut, mask, method)
    assert (astronaut == before).all()


def coordinate_image(h=64, w=64):
    """Each pixel stores its own (x, y), so we can see where a value came from."""
    y, x = np.mgrid[:h, :w]
    return np.dstack([x, y, np.zeros_like(x)]).astype(np.uint8)


@pytest.mark.parametrize("shape", ["square", "disc"])
@pytest.mark.parametrize("radius", [1, 3, 8])
def test_scramble_takes_pixels_from_within_radius(radius, shape):
    img = coordinate_image()
    mask = np.ones(img.shape[:2], bool)
    out = obfuscate(img, mask, "scramble", Params(radius=radius, shape=shape, seed=3))
    dx = out[..., 0].astype(int) - img[..., 0]
    dy = out[..., 1].astype(int) - img[..., 1]
    if shape == "square":
        assert np.abs(dx).max() <= radius and np.abs(dy).max() <= radius
        assert np.abs(dx).max() == radius  # the whole neighbourhood is used
    else:
        assert (dx**2 + dy**2).max() <= radius**2
    assert ((dx != 0) | (dy != 0)).mean() > 0.5


def test_scramble_radius_zero_is_identity_and_seed_reproducible(astronaut, mask):
    assert (obfuscate(astronaut, mask, "scramble", Params(radius=0)) == astronaut).all()
    a = obfuscate(astronaut, mask, "scramble", Params(radius=8, seed=5))
    b = obfuscate(astronaut, mask, "scramble", Params(radius=8, seed=5))
    c = obfuscate(astronaut, mask, "scramble", Params(radius=8, seed=6))
    assert (a == b).all() and (a != c).any()


def test_scramble_more_radius_more_static(astronaut):
    mask = np.ones(astronaut.shape[:2], bool)
    diffs = [np.abs(obfuscate(astronaut, mask, "scramble", Params(radius=r, seed=0)).astype(int) - astronaut).mean()
             for r in (1, 4, 16, 64)]
    assert diffs == sorted(diffs) and diffs[-1] > 3 * diffs[0]


def test_square_scramble_offsets_are_uniform_and_every_radius_shares_one_cached_field():
    """Square fields scale one cached field of random numbers (obfuscate.scramble.units): a frame
    whose people get several radii holds one field, and each radius's offsets still cover its
    whole square evenly."""
    from fuzzypeople.obfuscate import scramble

    scramble.units.cache_clear()
    scramble._cached_field.cache_clear()
    img = coordinate_image(200, 240)
    mask = np.ones(img.shape[:2], bool)
    for radius in (2, 8, 16, 64):
        out = obfuscate(img, mask, "scramble", Params(radius=radius, seed=11))
        dx = (out[..., 0].astype(int) - img[..., 0])[20:-20, 70:-70]  # away from the clipped borders
        if radius == 8:
            counts = np.bincount((dx + radius).ravel(), minlength=2 * radius + 1)
            assert len(counts) == 17 and counts.min() > 0.9 * counts.mean() and counts.max() < 1.1 * counts.mean()
        assert np.abs(dx).max() <= radius
    assert scramble.units.cache_info().currsize == 1 and scramble._cached_field.cache_info().currsize == 0


def test_offset_field_is_clipped_to_the_image():
    f = offset_field(10, 20, 50, "square", 0)
    assert f[..., 0].min() >= 0 and f[..., 0].max() <= 19
    assert f[..., 1].min() >= 0 and f[..., 1].max() <= 9


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_solid_colour_exact_and_pixelate_blocks(astronaut, mask):
    out = obfuscate(astronaut, mask, "solid", Params(color=(255, 0, 255)))
    assert (out[mask] == [255, 0, 255]).all()
    pix = obfuscate(astronaut, np.ones((512, 512), bool), "pixelate", Params(block=16))
    block = pix[32:48, 64:80].reshape(-1, 3)
    assert (block == block[0]).all()


def test_feather_softens_only_outside_the_mask(astronaut, mask):
    from fuzzypeople.masks import feather

    alpha = feather(mask, 6)
    out = obfuscate(astronaut, mask, "solid", Params(color=(255, 0, 255)), alpha=alpha)
    assert (out[mask] == [255, 0, 255]).all()
    changed = (out != astronaut).any(axis=2)
    assert changed[~mask].any()  # a soft edge outside
    far = ~(feather(mask, 8) > 0)
    assert not changed[far].any()  # nothing beyond the feather width


def test_unknown_method_is_a_clear_error(astronaut, mask):
    with pytest.raises(ValueError, match="unknown method 'smudge'"):
        obfuscate(astronaut, mask, "smudge")


@pytest.mark.parametrize("height,expected", [(10, 16), (50, 64), (100, 128), (400, 256), (800, 256)])
def test_auto_radius_grows_with_the_people(height, expected):
    """Default scramble: close-ups get more static than distant figures (1.0 x
    the region's shorter side, here min(height, 200), at least 16, a power of two)."""
    y, x = np.mgrid[:1000, :400]
    img = np.dstack([x, y, np.zeros_like(x)]).astype(np.uint16)  # each pixel knows where it is
    mask = np.zeros((1000, 400), bool)
    mask[100 : 100 + height, 100:300] = True
    out = obfuscate(img, mask, "scramble", Params(seed=0))  # radius None = auto
    dy = out[..., 1].astype(int) - img[..., 1]
    dx = out[..., 0].astype(int) - img[..., 0]
    assert max(np.abs(dx[mask]).max(), np.abs(dy[mask]).max()) == expected


def _two_people():
    """A coordinate image with a small (40 px) and a big (320 px) region."""
    y, x = np.mgrid[:1000, :1000]
    img = np.dstack([x, y, np.zeros_like(x)]).astype(np.uint16)
    small = np.zeros((1000, 1000), bool)
    small[50:130, 50:90] = True
    big = np.zeros((1000, 1000), bool)
    big[300:900, 500:820] = True
    return img, small, big


def test_auto_strength_is_per_region_not_per_image():
    """Scramble: the small figure gets radius 64 (40 -> 64), the big one 512 (320 -> 512)."""
    img, small, big = _two_people()
    out = obfuscate(img, small | big, "scramble", Params(seed=0))
    moved = np.maximum(np.abs(out[..., 0].astype(int) - img[..., 0]), np.abs(out[..., 1].astype(int) - img[..., 1]))
    assert moved[small].max() == 64 and moved[big].max() == 512


@pytest.mark.parametrize("method,key,small_value,big_value", [("pixelate", "block", 8, 64), ("blur", "strength", 16, 128)])
def test_pixelate_and_blur_auto_per_region(method, key, small_value, big_value):
    """Each region is hidden exactly as the method at its own auto strength would hide it alone."""
    img, small, big = _two_people()
    img8 = (img % 251).astype(np.uint8)
    both = obfuscate(img8, small | big, method, Params())
    for region, value in ((small, small_value), (big, big_value)):
        alone = obfuscate(img8, region, method, Params(**{key: value}))
        assert (both[region] == alone[region]).all()
    assert not (both[~(small | big)] != img8[~(small | big)]).any()
    if method == "pixelate":  # the big person's mosaic is made of 64 px blocks
        blk = both[320:384, 512:576].reshape(-1, 3)
        assert (blk == blk[0]).all()


@pytest.mark.parametrize("method,key,weak,strong", [("scramble", "radius", 8, 512), ("pixelate", "block", 16, 64),
                                                     ("blur", "strength", 25, 128)])
def test_fixed_values_are_obeyed_and_weak_ones_warned(method, key, weak, strong):
    from fuzzypeople.obfuscate import PrivacyWarning

    img, _, big = _two_people()
    img8 = (img % 251).astype(np.uint8)
    with pytest.warns(PrivacyWarning, match=f"--{key} {weak} is below the {strong} "):
        out = obfuscate(img8, big, method, Params(seed=0, **{key: weak}))
    assert (out[big] != img8[big]).any()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)
        obfuscate(img8, big, method, Params(seed=0, **{key: strong}))  # at the safe value: no warning


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_explicit_radius_is_exact_even_for_big_people():
    y, x = np.mgrid[:1000, :400]
    img = np.dstack([x, y, np.zeros_like(x)]).astype(np.uint16)
    mask = np.ones((1000, 400), bool)
    out = obfuscate(img, mask, "scramble", Params(radius=4, seed=0))
    assert np.abs(out[..., 1].astype(int) - img[..., 1]).max() == 4


def test_the_browser_page_uses_the_measured_shares():
    """fuzzy.js (the in-browser mode) copies each auto strength's share and minimum from the Python methods."""
    import re
    from pathlib import Path

    from fuzzypeople.obfuscate import get

    js = (Path(get("blur").__file__).parent.parent / "web" / "static" / "fuzzy.js").read_text()
    for name in ("scramble", "pixelate", "blur"):
        found = re.search(rf"{name}: {{ share: ([0-9.]+), min: (\d+) }}", js)
        assert found, f"no share for {name} in fuzzy.js"
        assert (float(found[1]), int(found[2])) == (get(name).AUTO_SHARE, get(name).AUTO_MIN)
