"""The cloak (``--method cloak``): gradients from the ONNX VJP graph, the optimisation, the pipeline.

Fast settings (few steps) are used; the protection itself is measured by
``benchmarks/cloak.py``, not here.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from fuzzypeople.detect.centerface import CenterFace
from fuzzypeople.faceid import Embedder, align, align_matrix, ARCFACE_112
from fuzzypeople.faceid import cloak as fc
from fuzzypeople.faceid.backward import vjp_model

GRACE = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
FAST = fc.Mode(dssim=0.008, linf=16, steps=12, eot=2)


@pytest.fixture(scope="module")
def grace():
    return np.asarray(Image.open(GRACE).convert("RGB"))


@pytest.fixture(scope="module")
def grace_face(grace):
    boxes, _, points = CenterFace().with_landmarks(grace)
    assert len(boxes) == 1
    return boxes[0], points[0]


@pytest.fixture(scope="module")
def embedder():
    return Embedder()


def test_landmarks_are_where_the_eyes_are(grace_face):
    box, points = grace_face
    # Eyes above the nose above the mouth, all inside the box; image-left eye first.
    assert points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0]
    assert points[:2, 1].max() < points[2, 1] < points[3:, 1].min()
    assert (points >= box[:2]).all() and (points <= box[2:]).all()


def test_alignment_puts_the_landmarks_on_the_template(grace, grace_face):
    _, points = grace_face
    M = align_matrix(points)
    mapped = points @ M[:, :2].T + M[:, 2]
    assert np.abs(mapped - ARCFACE_112).max() < 6  # five points, four degrees of freedom: close, not exact
    crop, _ = align(grace, points)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8


def test_gradient_matches_finite_differences(grace, grace_face, embedder):
    crop = align(grace, grace_face[1])[0].astype(np.float64)[None]
    rng = np.random.default_rng(0)
    target = rng.normal(size=(1, 192))
    target /= np.linalg.norm(target)

    def f(c):
        return float((embedder.embed(c) * target).sum())

    cos, g = embedder.cosine_and_grad(crop, target)
    assert abs(cos[0] - f(crop)) < 1e-5
    gnorm = np.linalg.norm(g)
    assert gnorm > 0
    # Along the gradient the derivative is |g|; along random directions it is g . v.
    directions = [g / gnorm] + [v / np.linalg.norm(v) for v in rng.normal(size=(3, *crop.shape))]
    for k, v in enumerate(directions):
        fd = (f(crop + v) - f(crop - v)) / 2  # step 1 (0-255 pixel units): float32 needs it this large
        an = float((g * v).sum())
        if k == 0:
            assert abs(fd - an) < 0.01 * abs(an), (fd, an)
        else:
            assert abs(fd - an) < 0.02 * gnorm, (k, fd, an, gnorm)


def _conv_model():
    """A small model with the ops MobileFaceNet uses: strided asymmetric-pad conv, depthwise conv, PReLU spelled out."""
    rng = np.random.default_rng(1)
    w1 = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.normal(size=4).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.normal(size=(4, 1, 3, 3)).astype(np.float32), "w2")
    alpha = numpy_helper.from_array(rng.uniform(0, 0.5, (1, 4, 1, 1)).astype(np.float32), "alpha")
    shape = numpy_helper.from_array(np.array([-1, 4 * 5 * 5], np.int64), "shape")
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], strides=[2, 2], pads=[0, 0, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r"]),
        helper.make_node("Abs", ["c1"], ["a"]),
        helper.make_node("Sub", ["c1", "a"], ["s"]),
        helper.make_node("Mul", ["alpha", "s"], ["m"]),
        helper.make_node("Add", ["r", "m"], ["p"]),
        helper.make_node("Conv", ["p", "w2"], ["c2"], group=4, pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Add", ["c2", "p"], ["res"]),
        helper.make_node("Transpose", ["res"], ["t"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["t", "shape"], ["y"]),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 3, 10, 10])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 100])
    graph = helper.make_graph(nodes, "small", [x], [y], [w1, b1, w2, alpha, shape])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])


def test_vjp_of_a_small_model_matches_finite_differences():
    model = _conv_model()
    fwd = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    bwd = ort.InferenceSession(vjp_model(model).SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 10, 10)).astype(np.float32)
    gy = rng.normal(size=(2, 100)).astype(np.float32)
    y, gx = bwd.run(None, {"x": x, "grad_y": gy})
    assert np.allclose(y, fwd.run(None, {"x": x})[0], atol=1e-5)
    assert gx.shape == x.shape
    f = lambda z: float((fwd.run(None, {"x": z.astype(np.float32)})[0] * gy).sum())  # noqa: E731
    for _ in range(4):
        v = rng.normal(size=x.shape)
        eps = 1e-3
        fd = (f(x + eps * v) - f(x - eps * v)) / (2 * eps)
        assert abs(fd - float((gx * v).sum())) < 2e-2 * np.linalg.norm(gx) * np.linalg.norm(v) / 10, fd


def test_vjp_refuses_an_op_it_cannot_differentiate():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    model = helper.make_model(helper.make_graph([helper.make_node("Sigmoid", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 11)])
    with pytest.raises(NotImplementedError, match="Sigmoid"):
        vjp_model(model)


def test_ssim_and_window():
    x = np.random.default_rng(0).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    assert fc.dssim(x, x) == 0.0
    assert fc.dssim(x, x + np.random.default_rng(1).normal(0, 20, x.shape)) > 0.01
    w = fc.window()
    assert w.max() == 1.0 and w[0].max() == 0.0 and w[:, 0].max() == 0.0


def test_cloaked_face_moves_away_under_the_optimised_model(grace, grace_face, embedder):
    box, points = grace_face
    out, res = fc.cloak_faces(grace, points[None], [embedder], FAST, seed=0)
    assert out.shape == grace.shape and out.dtype == np.uint8 and len(res) == 1
    assert not np.array_equal(out, grace)
    # Found again in the cloaked picture, aligned again: the embedding has moved.
    _, _, again = CenterFace().with_landmarks(out)
    before = embedder.embed(align(grace, points)[0][None])[0]
    after = embedder.embed(align(out, again[0])[0][None])[0]
    assert float(before @ after) < 0.8, float(before @ after)
    assert res[0].dssim_crop <= FAST.dssim + 0.002
    assert np.abs(out.astype(int) - grace.astype(int)).max() <= FAST.linf + 1
    # Only the face changed: nothing outside the face box grown by half.
    x1, y1, x2, y2 = box
    gx, gy = (x2 - x1) / 2, (y2 - y1) / 2
    changed = np.argwhere((out != grace).any(axis=2))
    assert changed[:, 0].min() >= y1 - gy and changed[:, 0].max() <= y2 + gy
    assert changed[:, 1].min() >= x1 - gx and changed[:, 1].max() <= x2 + gx


def test_cloak_method_changes_nothing_outside_the_mask(grace, monkeypatch):
    from fuzzypeople.obfuscate import Params, obfuscate

    monkeypatch.setitem(fc.MODES, "low", FAST)
    mask = np.zeros(grace.shape[:2], bool)
    mask[120:340, 160:370] = True  # Grace Hopper's face
    out = obfuscate(grace, mask, "cloak", Params(cloak="low"))
    assert (out[mask] != grace[mask]).any()
    assert np.array_equal(out[~mask], grace[~mask])
    # A mask that holds no face: nothing changes at all.
    empty = np.zeros_like(mask)
    empty[500:590, 10:100] = True
    assert np.array_equal(obfuscate(grace, empty, "cloak", Params(cloak="low")), grace)


def test_cloak_refuses_what_it_cannot_cloak():
    from fuzzypeople.obfuscate import Params, obfuscate

    img = np.zeros((40, 40, 3), np.uint16)
    mask = np.ones((40, 40), bool)
    with pytest.raises(ValueError, match="8-bit RGB"):
        obfuscate(img, mask, "cloak", Params())


def test_cloak_settings_hide_no_body():
    from fuzzypeople.pipeline import Settings

    s = Settings(method="cloak", cloak="high")
    assert s.targets == ("faces",) and not s.face_rule and s.params.cloak == "high"
    with pytest.raises(ValueError, match="cloak must be one of"):
        Settings(method="cloak", cloak="max")


def test_cli_cloaks_the_face_only(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fuzzypeople.cli import main

    monkeypatch.setitem(fc.MODES, "low", FAST)
    src = tmp_path / "grace.png"
    Image.open(GRACE).convert("RGB").save(src)
    dst = tmp_path / "out.png"
    r = CliRunner().invoke(main, ["run", str(src), "-o", str(dst), "--method", "cloak", "--cloak", "low", "-q"])
    assert r.exit_code == 0, r.output
    a = np.asarray(Image.open(src).convert("RGB")).astype(int)
    b = np.asarray(Image.open(dst).convert("RGB")).astype(int)
    diff = np.abs(a - b).max(axis=2)
    assert diff.max() > 0 and diff.max() <= FAST.linf + 1  # changed, slightly
    ys, xs = np.nonzero(diff)
    assert ys.max() < 420 and ys.min() > 60  # the face (rows ~128-334), not the uniformed body below it
    assert (diff[450:] == 0).all()


def test_cli_refuses_to_cloak_a_video(tmp_path):
    from click.testing import CliRunner

    from fuzzypeople.cli import main

    src = tmp_path / "clip.mp4"
    src.write_bytes(b"\x00" * 64)
    r = CliRunner().invoke(main, ["run", str(src), "-o", str(tmp_path / "o.mp4"), "--method", "cloak"])
    assert r.exit_code != 0
    assert not (tmp_path / "o.mp4").exists()


def test_audit_cloak_reports_each_model(tmp_path, grace, grace_face, embedder):
    import json

    from click.testing import CliRunner

    from fuzzypeople.cli import main

    out, _ = fc.cloak_faces(grace, grace_face[1][None], [embedder], FAST, seed=0)
    Image.fromarray(grace).save(tmp_path / "orig.png")
    Image.fromarray(out).save(tmp_path / "cloaked.png")
    gallery = tmp_path / "gallery"
    gallery.mkdir()
    # "Other photos" of the same person: the original mirrored, and cropped.
    Image.fromarray(np.ascontiguousarray(grace[:, ::-1])).save(gallery / "mirrored.png")
    Image.fromarray(grace[60:460, 60:460]).save(gallery / "cropped.png")
    r = CliRunner().invoke(main, ["audit", str(tmp_path / "orig.png"), str(tmp_path / "cloaked.png"), "--cloak",
                                  "--gallery", str(gallery), "--json", str(tmp_path / "r.json")])
    assert r.exit_code in (0, 1), r.output
    doc = json.loads((tmp_path / "r.json").read_text())
    assert {"mobilefacenet", "dlib"} <= set(doc["models"])
    assert not doc["models"]["dlib"]["optimised"] and doc["models"]["mobilefacenet"]["optimised"]
    for m in doc["models"].values():
        assert m["clean_faces"] == 2
        assert set(m) >= {"re-detected", "jpeg85", "half"}
    assert 0 < doc["dssim_face"] < 0.05 and doc["psnr"] > 30
    assert "share of the clean photos still matched" in r.output
    assert doc["verdict"] == ("at risk" if r.exit_code == 1 else "protected")
    # The clean original against the same gallery: everything matches, at risk.
    r2 = CliRunner().invoke(main, ["audit", str(tmp_path / "orig.png"), str(tmp_path / "orig.png"), "--cloak",
                                   "--gallery", str(gallery)])
    assert r2.exit_code == 1 and "at risk" in r2.output


def test_audit_cloak_needs_a_gallery(tmp_path, grace):
    from click.testing import CliRunner

    from fuzzypeople.cli import main

    Image.fromarray(grace).save(tmp_path / "a.png")
    r = CliRunner().invoke(main, ["audit", str(tmp_path / "a.png"), str(tmp_path / "a.png"), "--cloak"])
    assert r.exit_code == 2 and "--gallery" in r.output and "Traceback" not in r.output


def test_cloak_kept_cloaks_the_person_kept(grace, grace_face, monkeypatch):
    from fuzzypeople import Anonymizer

    monkeypatch.setitem(fc.MODES, "mid", FAST)
    kept = Anonymizer("solid", keep=1).anonymize(grace)  # Grace Hopper is the main person: kept
    assert np.array_equal(kept[150:300, 200:330], grace[150:300, 200:330])  # her face untouched
    out = Anonymizer("solid", keep=1, cloak_kept=True).anonymize(grace)
    diff = np.abs(out.astype(int) - kept.astype(int)).max(axis=2)
    assert 0 < diff.max() <= FAST.linf + 1  # cloaked, not filled
    x1, y1, x2, y2 = grace_face[0]
    ys, xs = np.nonzero(diff)
    assert ys.min() >= y1 - (y2 - y1) / 2 and ys.max() <= y2 + (y2 - y1) / 2


def test_cloak_kept_needs_someone_kept():
    from fuzzypeople.pipeline import Settings

    with pytest.raises(ValueError, match="cloak_kept needs keep_faces"):
        Settings(cloak_kept=True)


@pytest.mark.skipif(not __import__("shutil").which("npm"), reason="npm is not on PATH (install.sh apt-installs it)")
def test_shipped_mobilefacenet_matches_litert(tmp_path, grace):
    """tools/verify_mobilefacenet.py: the original LiteRT file (from npm) against the shipped ONNX file."""
    import subprocess
    import sys

    from skimage import data

    for person, pics in {"grace": [grace, np.ascontiguousarray(grace[:, ::-1])],
                         "astronaut": [data.astronaut(), data.astronaut()[:300, 80:380]]}.items():
        (tmp_path / person).mkdir()
        for i, p in enumerate(pics):
            Image.fromarray(p).save(tmp_path / person / f"{i}.png")
    tool = Path(__file__).resolve().parents[1] / "tools" / "verify_mobilefacenet.py"
    proc = subprocess.run([sys.executable, str(tool), str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    worst = float(proc.stdout.split("raw embeddings:")[1].split()[0])
    assert worst < 1e-3
    assert "4 faces of 2 people" in proc.stdout


PENNY = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces" / "identities" / "bbt-penny"


@pytest.mark.skipif(not PENNY.is_dir(), reason="the shared face identity sets are not here")
def test_cloak_on_a_real_person_stops_her_other_photos_matching():
    """The default cloak on one real photo: MobileFaceNet, found again and re-aligned, stops matching
    her other photos (all four matched before). benchmarks/cloak.py measures all 26 people."""
    from fuzzypeople.audit.cloak import judges, still_matched
    from fuzzypeople.io.image import read_image
    from fuzzypeople.obfuscate import Params, obfuscate

    files = sorted(PENNY.iterdir())
    photos = [read_image(f).rgb for f in files]
    mfn = judges(("mobilefacenet",))[0]
    clean = [mfn.embed(p) for p in photos[1:]]
    before = still_matched(photos[0], [], mfn, clean_embeddings=clean)
    assert before["re-detected"]["share"] == 1.0
    out = obfuscate(photos[0], np.ones(photos[0].shape[:2], bool), "cloak", Params(cloak="mid"))
    after = still_matched(out, [], mfn, clean_embeddings=clean)
    assert after["re-detected"]["found"] and after["re-detected"]["share"] <= 0.25
    assert after["jpeg85"]["share"] <= 0.25
    assert fc.psnr(photos[0], out) > 30


def test_a_face_change_is_capped_on_its_box_in_the_photo(grace):
    """cap_on_face shortens a face's change until the face box's DSSIM is at the cap, not beyond."""
    rng = np.random.default_rng(0)
    original = grace[:300, :300].copy()
    before = original.astype(np.float32)
    out = before + rng.normal(0, 40, before.shape).astype(np.float32)  # far too visible a change
    box = np.array([50, 50, 250, 250])
    window = (slice(0, 300), slice(0, 300))

    def face_dssim(img):
        return fc.dssim(original[50:250, 50:250], np.clip(np.round(img[50:250, 50:250]), 0, 255).astype(np.uint8))

    assert face_dssim(out) > 0.05
    fc.cap_on_face(original, out, before.copy(), window, box)
    assert 0.5 * fc.FACE_DSSIM_CAP < face_dssim(out) <= fc.FACE_DSSIM_CAP  # shortened, not dropped
