"""benchmarks/pedestrians.py: the held-out pedestrian check reads a Penn-Fudan-style folder,
scores every pedestrian against the real mask, and names what it leaves shown."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "pedestrians.py"
sys.path.insert(0, str(SCRIPT.parent))
from pedestrians import main, score  # noqa: E402


def folder(tmp_path: Path) -> Path:
    """The astronaut as a 'street photo' with two labelled 'pedestrians': her face (which the
    default settings hide) and a patch of the empty wall top right (which they do not)."""
    root = tmp_path / "peds"
    (root / "PNGImages").mkdir(parents=True)
    (root / "PedMasks").mkdir()
    Image.fromarray(skimage.data.astronaut()).save(root / "PNGImages" / "astro.png")
    labels = np.zeros((512, 512), np.uint8)
    labels[80:170, 190:260] = 1
    labels[5:40, 470:505] = 2
    Image.fromarray(labels).save(root / "PedMasks" / "astro_mask.png")
    return root


def test_score_gives_each_pedestrian_its_hidden_share_and_counts_background():
    labels = np.zeros((4, 6), np.int64)
    labels[:, :2] = 1
    labels[:2, 4:] = 3  # labels need not be consecutive
    hidden = np.zeros((4, 6), bool)
    hidden[:3, :3] = True  # 6 of pedestrian 1's 8 pixels, 3 background pixels
    ids, shares, bg_hidden, bg_total = score(hidden, labels)
    assert ids == [1, 3] and shares == [0.75, 0.0]
    assert (bg_hidden, bg_total) == (3, 12)


def test_the_script_reports_the_pedestrian_it_leaves_shown(tmp_path):
    root = folder(tmp_path)
    sheet = tmp_path / "shown.png"
    r = subprocess.run([sys.executable, str(SCRIPT), str(root), "--crops", str(sheet)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("| 1 |"))
    photos, peds, mean, under, h90, bg, _ = [c.strip() for c in row.strip("|").split("|")]
    assert (photos, peds, under) == ("1", "2", "1")
    assert float(mean) == pytest.approx(0.5, abs=0.01)  # the face whole, the wall patch not at all
    assert 0 < float(bg) < 1
    assert "under half hidden: astro.png pedestrian 2: 0.00" in r.stdout
    assert Image.open(sheet).size[1] == 240


@pytest.mark.parametrize("broken, says", [
    (lambda root: (root / "PedMasks" / "astro_mask.png").unlink(), "astro_mask.png: missing (the mask of astro.png)"),
    (lambda root: [p.unlink() for p in (root / "PedMasks").iterdir()] and (root / "PedMasks").rmdir(),
     "PedMasks: no such folder"),
    (lambda root: Image.fromarray(np.zeros((512, 512, 3), np.uint8)).save(root / "PedMasks" / "astro_mask.png"),
     "expected a one-channel label image"),
])
def test_a_broken_folder_gets_one_line_naming_the_problem(tmp_path, capsys, broken, says):
    root = folder(tmp_path)
    broken(root)
    assert main([str(root)]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
