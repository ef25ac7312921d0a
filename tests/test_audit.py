"""The privacy audit and the sweep: metrics on cases with known answers, and the
real commands on real photos (astronaut, Grace Hopper)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import shared_data

pytest.importorskip("dlib", reason="the audit needs the audit extra (dlib-bin)")

from fuzzypeople.audit import EXIT_AT_RISK, EXIT_ERROR, EXIT_PRIVATE, exit_code, metrics, report  # noqa: E402

CMD = [sys.executable, "-m", "fuzzypeople"]


def run(*args, cwd=None):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def auditor():
    from fuzzypeople.audit.core import Auditor

    return Auditor()


def _grace_rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _face_box_hidden(rgb: np.ndarray, box, grow=0.3, color=(255, 0, 255)) -> np.ndarray:
    out = rgb.copy()
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    out[max(0, int(y1 - grow * h)):int(y2 + grow * h), max(0, int(x1 - grow * w)):int(x2 + grow * w)] = color
    return out


# -- metrics: known answers --------------------------------------------------------
def test_iou_matrix_known_values():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 0]])
    b = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [0, 0, 5, 10]])
    m = metrics.iou_matrix(a, b)
    np.testing.assert_allclose(m[0], [1.0, 25 / 175, 0.5])
    assert (m[1] == 0).all()  # a degenerate box overlaps nothing, no division by zero


def test_group_merges_detections_of_one_face_across_detectors():
    boxes = np.array([[100, 100, 200, 200], [105, 110, 205, 210], [400, 400, 450, 450], [0, 0, 10, 10]])
    assert metrics.group(boxes, 0.3).tolist() == [0, 0, 1, 2]


def test_residual_compares_only_within_one_detector():
    before = np.array([[0, 0, 10, 10], [20, 20, 40, 40], [50, 50, 60, 60]])
    src = np.array(["mtcnn", "mtcnn", "dlib-hog"])
    after = np.array([[0, 0, 10, 10], [22, 22, 40, 40], [50, 50, 60, 60]])
    still, match = metrics.residual(before, src, after, np.array(["mtcnn", "dlib-hog", "mtcnn"]), 0.5)
    assert still.tolist() == [True, False, False]
    assert match.tolist() == [0, -1, -1]


def test_altered_share_and_tolerance():
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[:2] = 200  # 20% changed a lot
    b[5, 5] = 3  # one pixel changed a little
    assert metrics.altered(a, b).mean() == pytest.approx(0.21)
    assert metrics.altered(a, b, tolerance=5).mean() == pytest.approx(0.20)


def test_boxes_mask_draws_union_of_grown_boxes():
    m = metrics.boxes_mask(np.array([[2, 2, 4, 4], [3, 3, 5, 5]]), (8, 8))
    assert m.sum() == 7 and m[2, 2] and m[4, 4] and not m[2, 4]
    grown = metrics.boxes_mask(np.array([[2, 2, 6, 6]]), (8, 8), grow=0.25)
    assert grown[1:7, 1:7].all() and grown.sum() == 36


def test_similarity_outside_untouched_background_is_perfect():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    b = a.copy()
    b[10:30, 20:40] = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)  # the "person" replaced by noise
    region = np.zeros((64, 80), bool)
    region[10:30, 20:40] = True
    s = metrics.similarity(a, b, region)
    assert s["ssim_outside"] == 1.0 and s["psnr_outside"] == float("inf")
    assert s["ssim_inside"] < 0.2  # border pixels of the region see some untouched pixels
    # A change outside the region shows up outside.
    b[50:60, 60:70] = 0
    s2 = metrics.similarity(a, b, region)
    assert s2["ssim_outside"] < 1 and s2["psnr_outside"] < 30


def test_people_region_takes_changed_blobs_touching_people_only():
    found = np.zeros((20, 20), bool)
    found[2:6, 2:6] = True
    changed = np.zeros((20, 20), bool)
    changed[4:12, 4:12] = True  # the body below the face
    changed[17:19, 17:19] = True  # something far away
    r = metrics.people_region(found, changed)
    assert r[10, 10] and not r[18, 18]


def test_verdict_reasons():
    faces = [{"id": 1, "residual": False, "distance": 0.31, "reidentified": True, "gallery": None},
             {"id": 2, "residual": False, "distance": 0.9, "reidentified": False, "gallery": None}]
    bodies = [{"id": i, "residual": i < 3} for i in (1, 2, 3)]
    v, why = metrics.verdict(faces, bodies)
    assert v == "at risk"
    assert why == ["face 1 still re-identified (distance 0.31)", "2 of 3 people still detected"]
    faces[0]["reidentified"] = False
    v, why = metrics.verdict(faces, [{"id": 1, "residual": False}])
    assert v == "private"


def test_exit_codes():
    def doc(at_risk, errors):
        return {"summary": {"at_risk": at_risk, "errors": errors}}

    assert exit_code(doc(0, 0)) == EXIT_PRIVATE == 0
    assert exit_code(doc(1, 0)) == EXIT_AT_RISK == 1
    assert exit_code(doc(1, 3)) == EXIT_AT_RISK
    assert exit_code(doc(0, 1)) == EXIT_ERROR == 2


# -- the independent detectors and the recogniser ------------------------------------
def test_mtcnn_and_dlib_find_the_one_face_in_the_same_place(astronaut, coffee):
    from fuzzypeople.audit.detectors import MTCNN, DlibHOG

    m, d = MTCNN()(astronaut), DlibHOG()(astronaut)
    assert len(m) == 1 and len(d) == 1
    assert metrics.iou_matrix(m.boxes, d.boxes)[0, 0] > 0.5
    assert len(MTCNN()(coffee)) == 0 and len(DlibHOG()(coffee)) == 0


def test_face_distance_same_image_zero_different_people_far(auditor, astronaut, grace):
    g = _grace_rgb(grace)
    oa, og = auditor.study(astronaut), auditor.study(g)
    assert len(oa.faces) == 1 and len(og.faces) == 1
    assert auditor.compare(oa, astronaut)["faces"][0]["distance"] < 1e-3
    from fuzzypeople.audit.faces import distances

    assert distances(oa.embeddings, og.embeddings)[0] > 0.6  # Eileen Collins is not Grace Hopper


def test_hidden_face_is_private_and_background_untouched(auditor, astronaut):
    orig = auditor.study(astronaut)
    out = _face_box_hidden(astronaut, orig.faces[0])
    out = _face_box_hidden(out, orig.bodies[0], grow=0.1) if len(orig.bodies) else out
    r = auditor.compare(orig, out)
    assert r["verdict"] == "private", r["reasons"]
    assert r["faces"][0]["reidentified"] is False and r["faces"][0]["residual"] is False
    assert r["change"]["ssim_outside"] == 1.0 and r["change"]["psnr_outside_db"] == float("inf")
    assert 0.02 < r["change"]["altered_share"] < 0.5


def test_rank1_rule_known_answers():
    from fuzzypeople.audit.faces import rank1_reidentified

    orig = np.eye(2, 128)
    other = orig[1] * 0.3 + np.eye(1, 128, 9)[0] * 0.7  # someone else: 0.99 from face 2's original
    impostors = np.vstack([orig, other])  # the originals themselves are in the pool: never impostors
    near_someone_else = orig[1] * 0.6 + np.eye(1, 128, 9)[0] * 0.5  # 0.64 from its own original, 0.36 from `other`
    out = np.vstack([orig[0] * 0.95, near_someone_else])
    own = np.linalg.norm(out - orig, axis=1)
    m, r, n = rank1_reidentified(own, out, orig, impostors, match=0.9)
    assert m.tolist() == [True, True] and r.tolist() == [True, False]
    assert n[1] == pytest.approx(np.linalg.norm(near_someone_else - other))
    m, r, n = rank1_reidentified(own, out, orig, np.zeros((0, 128)), match=0.9)  # no impostor: the plain rule
    assert r.tolist() == m.tolist() == [True, True] and np.isinf(n).all()


def test_heavy_scramble_within_match_distance_is_not_reidentified(grace):
    """Radius 64 leaves face-shaped noise. With a looser --match (0.8) its raw
    distance passes the plain rule, but the crop is nearer other people's faces
    than Grace Hopper's: not re-identified, so private."""
    from dataclasses import replace

    from fuzzypeople import Anonymizer
    from fuzzypeople.audit.core import Auditor

    rgb = _grace_rgb(grace)
    anon = Anonymizer("scramble", seed=0)
    _, mask = anon.analyse(rgb)
    out = anon.hide(rgb, mask, replace(anon.params, radius=64))
    loose = Auditor(match=0.8)
    r = loose.audit(rgb, out)
    face = r["faces"][0]
    assert face["distance"] < 0.8 and face["matches_original"]  # the plain rule calls it re-identified
    assert face["reidentified"] is False and face["margin"] < 0 and face["impostor_distance"] < face["distance"]
    assert r["verdict"] == "private", r["reasons"]
    assert any("nearer to someone else" in x for x in r["reasons"])


# -- the command, as users run it -----------------------------------------------------
def test_audit_solid_output_is_private_with_no_residual_faces(grace, tmp_path):
    out = tmp_path / "solid.png"
    r = run(grace, "-o", out, "--method", "solid", "--color", "255,0,255")
    assert r.returncode == 0, r.stderr
    js = tmp_path / "r.json"
    r = run("audit", grace, out, "--json", js)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "private" in r.stdout
    doc = json.loads(js.read_text())
    s = doc["summary"]
    assert s["faces"] >= 1 and s["faces_residual"] == 0 and s["faces_reidentified"] == 0
    assert doc["items"][0]["verdict"] == "private"


def test_audit_copy_of_itself_is_at_risk(grace, tmp_path):
    copy = tmp_path / "copy.jpg"
    shutil.copy(grace, copy)
    js = tmp_path / "r.json"
    r = run("audit", grace, copy, "--json", js)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "at risk" in r.stdout and "re-identified" in r.stdout
    doc = json.loads(js.read_text())
    face = doc["items"][0]["frames"][0]["faces"][0]
    assert face["distance"] < 0.01 and face["reidentified"] and face["residual"] and face["matches_original"]
    # Grace Hopper is among the distractors: the copy of her must not count as someone else.
    assert face["impostor_distance"] > 0.55 and face["margin"] > 0.5
    assert doc["settings"]["impostors"]["distractors"] >= 100


@pytest.mark.parametrize("method", [["--method", "blur", "--strength", "1.5"], ["--method", "scramble", "--radius", "2"]])
def test_light_hiding_is_caught_as_still_reidentified(astronaut_jpg, tmp_path, method):
    out = tmp_path / "light.png"
    r = run(astronaut_jpg, "-o", out, *method, "--seed", "1")
    assert r.returncode == 0, r.stderr
    js = tmp_path / "r.json"
    r = run("audit", astronaut_jpg, out, "--json", js)
    assert r.returncode == 1, r.stdout + r.stderr
    face = json.loads(js.read_text())["items"][0]["frames"][0]["faces"][0]
    assert face["reidentified"] and face["matches_original"] and 0.05 < face["distance"] < 0.6
    assert face["margin"] > 0 and face["impostor_distance"] > face["distance"]
    assert "still re-identified" in r.stdout


def test_json_report_validates_against_the_schema(grace, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    out = tmp_path / "solid.png"
    run(grace, "-o", out, "--method", "solid")
    gallery = tmp_path / "gallery"
    (gallery / "grace").mkdir(parents=True)
    shutil.copy(grace, gallery / "grace" / "portrait.jpg")
    js = tmp_path / "r.json"
    r = run("audit", grace, out, "--json", js, "--gallery", gallery)
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(js.read_text())
    assert doc["schema_version"] == 3
    schema = report.schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema)
    assert doc["settings"]["gallery"] == {"people": ["grace"], "images": 1}
    bad = json.loads(js.read_text())
    bad["items"][0]["verdict"] = "probably fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_gallery_names_the_person_in_an_unhidden_copy(auditor, grace, astronaut, tmp_path):
    gallery = tmp_path / "gallery"
    (gallery / "eileen").mkdir(parents=True)
    shutil.copy(grace, gallery / "grace.jpg")
    Image.fromarray(astronaut).save(gallery / "eileen" / "1.png")
    g = auditor.load_gallery(gallery)
    assert sorted(g.names) == ["eileen", "grace"]
    try:
        r = auditor.audit(astronaut, astronaut)
    finally:
        auditor.gallery = None
    ident = r["faces"][0]["identification"]
    assert ident["person"] == ident["answer"] == "eileen" and ident["identified"] and ident["rank"] == 1
    assert ident["candidates"] == 2 and ident["chance"] == 0.5
    assert r["faces"][0]["attack"] == "identification"
    assert any("identified as 'eileen' among 2 gallery people" in x for x in r["reasons"])


@pytest.fixture(scope="module")
def line_up(auditor):
    """A closed set: Grace Hopper and Eileen Collins (4 variants of their photos each)
    and every distractor face that is someone else (one photo each)."""
    from fuzzypeople.audit.sweep import stand_in_gallery
    from skimage import data

    from conftest import GRACE

    rgb = {"grace": _grace_rgb(GRACE), "eileen": data.astronaut()}
    originals = [(name, im, auditor.study(im).embeddings) for name, im in rgb.items()]
    g = stand_in_gallery(auditor, originals)
    assert g.names.count("grace") >= 3 and g.names.count("eileen") >= 3
    others = [n for n in g.people if n.startswith("distractor")]
    assert len(others) >= 95  # the LFW crops; Grace and Eileen's own pictures among the distractors are dropped
    return g, rgb


@pytest.mark.parametrize("who", ["grace", "eileen"])
def test_attacks_known_answers_copy_named_solid_not(auditor, line_up, who):
    """(a) and (b): an untouched copy is identified and verified, a solid fill over
    the face is neither; chance is 1/k for the k people of the gallery."""
    g, rgb = line_up
    auditor.gallery = g
    try:
        orig = auditor.study(rgb[who])
        copy = auditor.compare(orig, rgb[who])
        solid = auditor.compare(orig, _face_box_hidden(rgb[who], orig.faces[0]))
    finally:
        auditor.gallery = None
    k = len(set(g.names))
    for face in (copy["faces"][0], solid["faces"][0]):
        assert face["attack"] == "identification"
        assert face["identification"]["candidates"] == k and face["identification"]["chance"] == pytest.approx(1 / k)
        assert face["identification"]["person"] == who
    a, b = copy["faces"][0], solid["faces"][0]
    assert a["identification"]["identified"] and a["identification"]["rank"] == 1
    assert a["verification"]["accepted"] and a["verification"]["claim"] == who
    assert not b["identification"]["identified"] and b["identification"]["rank"] > 1
    assert not b["verification"]["accepted"]
    assert copy["verdict"] == "at risk" and any("identified as" in x for x in copy["reasons"])
    assert not any("identified as" in x or "verified as" in x for x in solid["reasons"]), solid["reasons"]


def test_verification_without_gallery_claims_the_original(auditor, grace):
    rgb = _grace_rgb(grace)
    orig = auditor.study(rgb)
    copy = auditor.compare(orig, rgb)["faces"][0]
    solid = auditor.compare(orig, _face_box_hidden(rgb, orig.faces[0]))["faces"][0]
    thr, pairs = auditor.verification_threshold()
    assert 0.3 < thr < 0.6 and pairs > 1000  # 1% of the distractor pairs fall under it
    assert copy["attack"] == "verification" and copy["identification"] is None
    assert copy["verification"]["claim"] is None and copy["verification"]["accepted"]
    assert copy["verification"]["threshold"] == thr and copy["verification"]["fmr"] == 0.01
    assert not solid["verification"]["accepted"]


@pytest.mark.parametrize("case", ["missing", "not_image", "size"])
def test_bad_input_is_one_line_naming_the_file(grace, tmp_path, case):
    if case == "missing":
        other = tmp_path / "nope.png"
    elif case == "not_image":
        other = tmp_path / "notes.jpg"
        other.write_text("this is not a picture")
    else:
        other = tmp_path / "small.png"
        Image.open(grace).resize((50, 60)).save(other)
    r = run("audit", grace, other)
    assert r.returncode == EXIT_ERROR
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and other.name in lines[0] and lines[0].startswith("fuzzypeople: error:")
    assert "Traceback" not in r.stderr and r.stdout == ""
    if case == "size":
        assert "size mismatch" in lines[0]


def test_folders_matched_by_relative_path_and_suffix(grace, astronaut, tmp_path):
    src, dst = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    (dst / "sub").mkdir(parents=True)
    shutil.copy(grace, src / "sub" / "g.jpg")
    shutil.copy(grace, dst / "sub" / "g_anonymized.jpg")  # not hidden: at risk
    Image.fromarray(astronaut).save(src / "a.png")
    Image.fromarray(np.full_like(astronaut, 128)).save(dst / "a.png")  # all grey: private
    Image.fromarray(astronaut).save(src / "orphan.png")  # no counterpart
    js = tmp_path / "r.json"
    r = run("audit", src, dst, "--json", js)
    doc = json.loads(js.read_text())
    verdicts = {Path(i["original"]).name: i["verdict"] for i in doc["items"]}
    assert verdicts == {"a.png": "private", "g.jpg": "at risk"}
    assert len(doc["errors"]) == 1 and "orphan.png" in doc["errors"][0]["path"]
    assert r.returncode == EXIT_AT_RISK
    assert "orphan.png" in r.stdout and "Traceback" not in r.stderr


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_html_report_is_self_contained_and_opens_without_console_errors(grace, tmp_path):
    out = tmp_path / "light.png"
    run(grace, "-o", out, "--method", "scramble", "--radius", "4", "--seed", "0")
    page = tmp_path / "report.html"
    r = run("audit", grace, out, "--html", page)
    assert r.returncode in (0, 1), r.stderr
    text = page.read_text()
    assert "fuzzypeople privacy audit" in text
    # Self-contained: every picture is a data: URI, nothing is fetched.
    srcs = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)""", text)
    assert srcs and all(s.startswith("data:") for s in srcs)
    assert "<script src" not in text and "@import" not in text and "url(http" not in text
    chrome = _chromium()
    if chrome is None:
        pytest.skip("chromium not installed (install.sh installs it)")
    profile = tmp_path / "profile"
    r = subprocess.run(
        [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "fuzzypeople privacy audit" in r.stdout  # it rendered
    console = [ln for ln in r.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln
               or "Failed to load resource" in ln or "net::ERR" in ln]
    assert console == [], console
    assert r.stdout.count("<img") >= 4  # two plots and before/after


def _write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> None:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.bit_rate = 4_000_000
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_video_pair_sampled_frames(auditor, astronaut, tmp_path):
    orig = auditor.study(astronaut)
    hidden = _face_box_hidden(astronaut, orig.faces[0], color=(0, 0, 0))
    frames = [np.roll(astronaut, 4 * i, axis=1) for i in range(12)]
    outs = [np.roll(hidden, 4 * i, axis=1) for i in range(12)]
    src, dst, same = tmp_path / "clip.mp4", tmp_path / "clip_anonymized.mp4", tmp_path / "same.mp4"
    _write_video(src, frames)
    _write_video(dst, outs)
    shutil.copy(src, same)
    from fuzzypeople.audit import run as audit_run

    doc, _ = audit_run(src, dst, auditor=auditor, frames=3)
    item = doc["items"][0]
    assert item["media"] == "video" and [f["index"] for f in item["frames"]] == [0, 6, 11]
    assert all(not f["faces"][0]["reidentified"] for f in item["frames"])
    assert item["frames"][0]["change"]["tolerance"] == 24
    doc, _ = audit_run(src, same, auditor=auditor, frames=2)
    assert doc["items"][0]["verdict"] == "at risk"
    assert doc["items"][0]["reasons"][0] == "2 of 2 sampled frames at risk"


def test_video_with_real_footage(auditor, tmp_path):
    src = shared_data("video", "vtest.avi")
    from fuzzypeople.audit import run as audit_run

    doc, _ = audit_run(src, src, auditor=auditor, frames=2)
    item = doc["items"][0]
    assert len(item["frames"]) == 2 and item["frames"][1]["index"] > 0
    assert item["frames"][0]["change"]["altered_share"] == 0
    assert doc["summary"]["people"] >= 1 and item["verdict"] == "at risk"


# -- the sweep ------------------------------------------------------------------------
def test_sweep_reidentification_falls_to_zero_as_radius_grows(grace, tmp_path):
    out = tmp_path / "sweep"
    r = run("sweep", grace, "--radius", "0,2,4,8,16,32,64,128", "-o", out)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((out / "sweep.json").read_text())
    rates = [row["reidentified_rate"] for row in doc["rows"]]
    assert rates[0] == 1.0  # radius 0 changes nothing
    assert rates[-1] == 0.0
    assert all(b <= a + 1e-9 for a, b in zip(rates, rates[1:])), rates  # non-increasing
    dists = [row["mean_distance"] for row in doc["rows"]]
    assert dists[-1] > dists[0] + 0.5
    assert doc["reid_zero_from"] in doc["values"]
    assert f"re-identification (rank-1) reaches zero at radius {doc['reid_zero_from']}" in r.stdout
    # Attack (a), the stand-in gallery: variants of the portrait among ~100 other people.
    assert doc["gallery"]["kind"] == "stand-in" and doc["gallery"]["people"] >= 95
    assert doc["chance"] == pytest.approx(1 / doc["gallery"]["people"])
    assert doc["rows"][0]["identified_rate"] == 1.0 and doc["rows"][3]["identified_rate"] == 1.0  # radius 0 and 8
    reach = doc["reach_chance"]
    assert set(reach) == {"identification", "verification", "rank1"}
    # The rank-1 test alone stopped at 8 px on this 400 px face; the closed set needs far more.
    assert reach["identification"] is not None and reach["identification"] > 8, reach
    assert reach["identification"] >= reach["rank1"]
    assert doc["rows"][0]["identified_among_5_rate"] == 1.0 and doc["rows"][0]["mean_rank"] == 1
    assert f"(a) identification at chance from radius {reach['identification']}" in r.stdout
    png = out / "sweep.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and Image.open(png).size[0] >= 800
    assert "data:image/png;base64," in (out / "sweep.html").read_text()


def test_sweep_other_methods_and_bad_values(astronaut_jpg, tmp_path):
    out = tmp_path / "px"
    r = run("sweep", astronaut_jpg, "--method", "pixelate", "--block", "1,32", "-o", out, "-q")
    assert r.returncode == 0, r.stderr
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert rows[0]["reidentified_rate"] == 1.0 and rows[0]["altered_share"] == 0
    r = run("sweep", astronaut_jpg, "--radius", "4", "--method", "blur")
    assert r.returncode == 2 and "--radius does not apply" in r.stderr
    r = run("sweep", astronaut_jpg, "--radius", "a,b")
    assert r.returncode == 2 and "comma-separated" in r.stderr and "Traceback" not in r.stderr
