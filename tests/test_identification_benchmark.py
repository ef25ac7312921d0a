"""benchmarks/identification.py: its chance arithmetic, and a smoke run on the shared identities."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_data

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "identification.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("identification_benchmark", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _doc(rows):
    return {"date": "2026-11-29", "command": "test", "faces": 52, "people": 26, "k": 5, "gallery_photos": 100,
            "threshold": 0.6, "fmr": 0.01, "mask_coverage": [1.0], "rows": rows}


def _row(method, share, ident, among):
    return {"method": method, "setting": f"{share:g} rel", "strength": share, "faces": 52, "identified_all": ident,
            "expected_identified_k": among, "within_0.6": 0, "verified": 0, "mean_rank": 13.0}


def test_null_spread_matches_a_simulated_closed_set(bench):
    """Ranks drawn uniformly (a perfectly hidden face) give the spreads the benchmark uses."""
    from fuzzypeople.audit.attacks import identified_among

    sd_all, sd_k = bench.null_spread(26, 5, 52)
    rng = np.random.default_rng(0)
    ranks = rng.integers(1, 27, size=(4000, 52))
    counts = (ranks == 1).sum(axis=1)
    among = identified_among(ranks.ravel(), 26, 5).reshape(ranks.shape).sum(axis=1)
    assert abs(counts.mean() - 2.0) < 0.1 and abs(among.mean() - 10.4) < 0.15
    assert sd_all == pytest.approx(counts.std(), rel=0.08) and sd_k == pytest.approx(among.std(), rel=0.08)


def test_reach_chance_is_where_both_counts_stay_at_chance(bench):
    rows = [_row("scramble", 0.05, 20, 30.0), _row("scramble", 0.1, 3, 11.0), _row("scramble", 0.2, 9, 11.0),
            _row("scramble", 0.4, 2, 10.0),
            _row("pixelate", 0.05, 4, 11.0), _row("pixelate", 0.1, 2, 10.0),
            _row("blur", 0.05, 30, 40.0), _row("blur", 0.1, 2, 25.0)]
    reach = bench.reach_chance(_doc(rows))
    # chance 2 of 52 (+2 sd = 4.8) and 10.4 (+2 sd = 14.5): scramble rises again at 0.2, blur never gets there
    assert reach == {"scramble": 0.4, "pixelate": 0.05, "blur": None}


def test_report_reprints_a_saved_run(bench, tmp_path):
    js = tmp_path / "run.json"
    js.write_text(json.dumps(_doc([_row("pixelate", 0.1, 2, 10.0)])))
    r = subprocess.run([sys.executable, str(SCRIPT), "--report", str(js)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "| pixelate | 0.1 rel | 2 | 10.0 |" in r.stdout and "pixelate: identification at chance from share 0.1" in r.stdout


def test_without_the_shared_identities_it_says_so(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--data", str(tmp_path / "absent")], capture_output=True, text=True)
    assert r.returncode == 2 and "no data at" in r.stderr


def test_shared_identities_are_laid_out_as_a_gallery():
    root = shared_data("faces", "identities")
    folders = [p for p in root.iterdir() if p.is_dir()]
    assert len(folders) >= 20 and all(len(list(f.iterdir())) >= 2 for f in folders)
