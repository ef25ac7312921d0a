"""benchmarks/held_out_diff.py: the held-out check for detector changes runs, and counts what it should."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from test_video import make_video

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "held_out_diff.py"


def test_left_shown_counts_moving_boxes_the_other_mask_leaves_visible():
    sys.path.insert(0, str(SCRIPT.parent))
    from held_out_diff import left_shown

    from fuzzypeople.people import People

    frames = [np.zeros((40, 60, 3), np.uint8) for _ in range(6)]
    found, other = [], []
    for i, f in enumerate(frames):
        f[10:30, 5 + 8 * i : 15 + 8 * i] = 200  # someone walking across an empty scene
        # ... and a box with no area left in the frame, which every per-box list leaves out alike
        found.append((People([[5 + 8 * i, 10, 15 + 8 * i, 30], [60, 0, 70, 10]], [0.9, 0.3], ["body"] * 2), None))
        mask = np.zeros((40, 60), bool)
        if i != 3:  # the other setting hides them on every frame but one
            mask[10:30, 5 + 8 * i : 15 + 8 * i] = True
        other.append((People.empty(), mask))
    shown, moving, total = left_shown(frames, found, other)
    assert (moving, total) == (6, 6)
    assert [(i, b.tolist()) for i, b in shown] == [(3, [29, 10, 39, 30])]


def test_the_script_compares_two_settings_on_a_video(tmp_path):
    src = tmp_path / "walk.mp4"
    make_video(src, frames=4, audio=False)
    r = subprocess.run([sys.executable, str(SCRIPT), "--video", str(src), "--frames", "4", "--step", "2",
                        "--candidate", '{"tile_scale": 0}', "--crops", str(tmp_path / "c.png")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "2 frames of walk.mp4" in r.stdout
    assert "default's body boxes" in r.stdout and "candidate's body boxes" in r.stdout
