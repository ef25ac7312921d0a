"""Shared fixtures: real photos that ship inside installed packages."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image
from skimage import data

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
GRACE = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """Eileen Collins in a spacesuit: one person, face and upper body."""
    return data.astronaut()


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """A cup of coffee on a table: nobody in it."""
    return data.coffee()


@pytest.fixture(scope="session")
def anonymizer_solid():
    from fuzzypeople import Anonymizer

    return Anonymizer("solid", color=(255, 0, 255))


@pytest.fixture
def grace(tmp_path) -> Path:
    """A private copy of matplotlib's grace_hopper.jpg (a portrait)."""
    dst = tmp_path / "grace.jpg"
    shutil.copy(GRACE, dst)
    return dst


@pytest.fixture
def astronaut_jpg(tmp_path, astronaut) -> Path:
    p = tmp_path / "astronaut.jpg"
    Image.fromarray(astronaut).save(p, quality=95)
    return p


@pytest.fixture
def scene(tmp_path, coffee) -> Path:
    """A test-made street-like scene: Grace Hopper small, left of centre, on the coffee photo."""
    background = np.asarray(Image.fromarray(coffee).resize((1200, 800)))
    person = np.asarray(Image.open(GRACE).convert("RGB").resize((256, 300)))
    canvas = background.copy()
    canvas[400:700, 200:456] = person
    p = tmp_path / "scene.png"
    Image.fromarray(canvas).save(p)
    return p


def shared_data(*parts) -> Path:
    """A path under ../shared/data, skipping the test when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"evaluation data not available: {p}")
    return p


@pytest.fixture
def fake_stack(monkeypatch):
    """Make every Anonymizer of this process use a stand-in detector: set ``fake_stack["detector"]``
    to a function ``rgb -> People`` (the video and segment tests)."""
    holder = {}

    class FakeStack:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, rgb):
            return holder["detector"](rgb)

    import fuzzypeople.api

    monkeypatch.setattr(fuzzypeople.api, "Stack", FakeStack)
    return holder
