"""Privacy-utility sweeps: run the real anonymiser at several strengths and audit each.

``fuzzypeople sweep photo.jpg --method scramble --radius 0,2,4,8,16,32,64``
detects people once per photo (detection does not depend on the strength),
hides them at every setting with :meth:`fuzzypeople.Anonymizer.hide`, and
audits every output against the original with the audit's three attacks
(:mod:`fuzzypeople.audit.attacks`): (a) closed-set identification, (b)
verification at a 1% false-match rate, (c) rank-1 against distractors. It
plots them and residual detection (privacy) against the setting and against
SSIM (utility), and prints, per attack, the smallest setting from which it
stays at chance level.

The gallery that attack (a) needs: with ``--gallery DIR`` (one folder per person,
several photos each, the swept photos' people among them) that is the
gallery. Without one, the sweep builds a stand-in from what it has
(:func:`stand_in_gallery`): each swept photo is a person, represented by
*variants of the photo itself* -- mirrored, shrunk to a third and enlarged
back, darker with more contrast, turned 8 degrees -- and the other candidates
are the audit's distractor faces (the 100 LFW crops shipped with
scikit-image, the astronaut, the cameraman; pictures of the swept person
among them are dropped). Variants of the very photo share its pose, light
and expression, so this attacker is *stronger* than one holding other photos
of the person: the zero points it gives are upper bounds (safe side), and on
a 400 px portrait they sit far above the 8 px the rank-1 test alone gave. The
chance level is 1 / the number of candidates; (a) "reaches chance" from the
setting where no face is named right any more (for a handful of faces,
where the identified rate stays at or below chance).
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path

import click
import numpy as np

from ..errors import FuzzyError

PARAM = {"scramble": "radius", "pixelate": "block", "blur": "strength"}
DEFAULTS = {
    "radius": "0,2,4,8,16,32,64",
    "block": "1,2,4,8,16,32,64",
    "strength": "0,1,2,4,8,16,32",
}
LABEL = {"radius": "scramble radius (px)", "block": "pixelate block (px)", "strength": "blur sigma (px)"}


def parse_values(text: str, param: str) -> list:
    """``"0,2,4"`` -> ``[0, 2, 4]`` (sorted, unique), checked for the parameter.

    >>> parse_values("8, 0,2,2", "radius")
    [0, 2, 8]
    >>> parse_values("0.5,1", "strength")
    [0.5, 1.0]
    """
    try:
        cast = float if param == "strength" else int
        vals = sorted({cast(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise ValueError(f"--{param} takes comma-separated numbers, e.g. {DEFAULTS[param]}") from None
    low = 1 if param == "block" else 0
    if not vals or min(vals) < low:
        raise ValueError(f"--{param} values must be >= {low}")
    return vals


def zero_from(values: list, rates: list) -> tuple[object | None, object | None]:
    """(first value where the rate is 0, smallest value from which it stays 0).

    >>> zero_from([0, 2, 4, 8, 16], [1.0, 1.0, 0.0, 0.5, 0.0])
    (4, 16)
    >>> zero_from([0, 2], [1.0, 0.5])
    (None, None)
    """
    first = next((v for v, r in zip(values, rates) if r == 0), None)
    stays = None
    for v, r in zip(reversed(values), reversed(rates)):
        if r != 0:
            break
        stays = v
    return first, stays


def at_chance_from(values: list, rates: list, chance: float | None):
    """Smallest value from which ``rates`` stay at or below ``chance`` (None: never, or not measured).

    For identification among k candidates ``chance`` is 1/k; a single face is
    either named (rate 1) or not (0), so for one face this is where it stops
    being named.

    >>> at_chance_from([0, 8, 16, 32], [1.0, 0.0, 1.0, 0.0], 0.2)
    32
    >>> at_chance_from([0, 8], [1.0, None], 0.2) is None
    True
    """
    if chance is None or any(r is None for r in rates):
        return None
    stays = None
    for v, r in zip(reversed(values), reversed(rates)):
        if r > chance + 1e-9:
            break
        stays = v
    return stays


def _among(ident: list[dict], k: int):
    """Expected share named right among ``k`` candidates (the right one and k - 1 others at random)."""
    from .attacks import identified_among

    if not ident:
        return None
    people = ident[0]["candidates"]
    return float(identified_among(np.array([x["rank"] for x in ident]), people, min(k, people)).mean())


def _rate(num, den):
    return None if den == 0 else num / den


def _mean(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isinf(x))]
    return None if not xs else float(np.mean(xs))


VARIANTS = ("mirrored", "low-res", "darker", "turned")


def variants(rgb: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Other "photos" of the same person made from one: see the module docstring.

    >>> [n for n, _ in variants(np.zeros((60, 40, 3), np.uint8))]
    ['mirrored', 'low-res', 'darker', 'turned']
    """
    import cv2

    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (max(w // 3, 1), max(h // 3, 1)), interpolation=cv2.INTER_AREA)
    lowres = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    darker = np.clip((rgb.astype(np.float32) / 255) ** 1.4 * 255 * 1.1, 0, 255).astype(np.uint8)
    turn = cv2.warpAffine(rgb, cv2.getRotationMatrix2D((w / 2, h / 2), 8, 1.0), (w, h), borderMode=cv2.BORDER_REFLECT)
    return list(zip(VARIANTS, [np.ascontiguousarray(rgb[:, ::-1]), lowres, darker, turn]))


def stand_in_gallery(auditor, originals: list[tuple[str, np.ndarray, np.ndarray]]):
    """A gallery for attack (a) when none is given: ``originals`` is
    ``(person, rgb, face embeddings)`` per swept photo; each person gets the
    variants of their photo, every distractor face is one more candidate."""
    from .faces import SAME_PERSON, Gallery

    names, embs, files = [], [], []
    for person, rgb, _ in originals:
        for label, v in variants(rgb):
            faces = auditor.detect(v).of_kind("face")
            if not len(faces):
                continue
            wh = faces.boxes[:, 2:] - faces.boxes[:, :2]
            big = int(np.argmax(wh[:, 0] * wh[:, 1]))
            shapes = auditor.recognizer.landmarks(v, faces.boxes[big : big + 1])
            embs.append(auditor.recognizer.embed([v], shapes)[0][0])
            names.append(person)
            files.append(f"{person} ({label})")
    swept = np.vstack([o[2] for o in originals if len(o[2])] or [np.zeros((0, 128), np.float32)])
    for i, e in enumerate(auditor.distractors()):
        if len(swept) and np.linalg.norm(swept - e, axis=1).min() < SAME_PERSON:
            continue  # a picture of a swept person: not someone else
        names.append(f"distractor {i}")
        embs.append(e)
        files.append(f"distractor {i}")
    return Gallery(names, np.stack(embs).astype(np.float32), files)


def run_sweep(images: list[Path], method: str, values: list, *, auditor=None, seed: int = 0,
              anonymizer_options: dict | None = None, keep_examples: int = 1, on_image=None) -> dict:
    """Sweep ``method`` over ``values`` on ``images``; returns the sweep document.

    Attack (a) uses ``auditor.gallery`` if set, else :func:`stand_in_gallery`
    (and the auditor's gallery is left as it was). ``doc["examples"]``
    holds, for the first ``keep_examples`` photos, the hidden picture at
    each setting (arrays; dropped from the JSON).
    """
    from .core import Auditor

    param = PARAM[method]
    auditor = auditor or Auditor()
    given_gallery = auditor.gallery
    try:
        return _run_sweep(images, method, values, auditor, seed, anonymizer_options, keep_examples, on_image, param)
    finally:
        auditor.gallery = given_gallery


def _run_sweep(images, method, values, auditor, seed, anonymizer_options, keep_examples, on_image, param):
    import warnings

    from ..api import Anonymizer
    from ..io.image import read_image
    from ..obfuscate import PrivacyWarning

    gallery_kind = "given" if auditor.gallery is not None else "stand-in"
    anon = Anonymizer(method, seed=seed, **(anonymizer_options or {}))
    per = {v: [] for v in values}
    examples, errors, loaded = [], [], []
    for n, path in enumerate(images):
        if on_image:
            on_image(str(path))
        try:
            rgb = read_image(path).rgb
            _, mask = anon.analyse(rgb)
        except FuzzyError as exc:
            errors.append({"path": str(path), "message": exc.problem})
            continue
        loaded.append((n, path, rgb, mask))
    if auditor.gallery is None and loaded:
        firsts = []
        for n, path, rgb, _ in loaded:
            o = auditor.study(rgb)
            firsts.append((f"{n}:{Path(path).name}", rgb, o.embeddings))
        auditor.gallery = stand_in_gallery(auditor, firsts)
    for n, path, rgb, mask in loaded:
        orig = auditor.study(rgb)
        shots = []
        for v in values:
            with warnings.catch_warnings():  # weak settings are the point of a sweep: no PrivacyWarning
                warnings.simplefilter("ignore", PrivacyWarning)
                out = anon.hide(rgb, mask, replace(anon.params, **{param: v}))
            fr = auditor.compare(orig, out, 0)
            fr.pop("_after", None)
            per[v].append({"image": str(path), "mask_share": float(mask.mean()), **fr})
            if n < keep_examples:
                shots.append(out)
        if n < keep_examples:
            examples.append({"image": str(path), "original": rgb, "outputs": shots})
    # The rank-1 test with every original face of the sweep as an impostor too (as the audit does for a run).
    pool = [fr["_embeddings"][0] for frs in per.values() for fr in frs if fr.get("_embeddings") is not None]
    pool = np.vstack(pool) if pool else np.zeros((0, 128), np.float32)
    for frs in per.values():
        for fr in frs:
            auditor.judge(fr, pool)
            fr.pop("_embeddings", None)
    rows = []
    for v in values:
        frs = per[v]
        faces = [f for fr in frs for f in fr["faces"]]
        bodies = [b for fr in frs for b in fr["people"]]
        ident = [f["identification"] for f in faces if f.get("identification")]
        ver = [f["verification"] for f in faces if f.get("verification")]
        rows.append({
            param: v,
            "images": len(frs),
            "faces": len(faces),
            "identification_faces": len(ident),
            "identified": sum(bool(x["identified"]) for x in ident),
            "identified_rate": _rate(sum(bool(x["identified"]) for x in ident), len(ident)),
            "identification_chance": _mean([x["chance"] for x in ident]),
            "mean_rank": _mean([x["rank"] for x in ident]),
            "identified_among_5_rate": _among(ident, 5),
            "verified_rate": _rate(sum(bool(x["accepted"]) for x in ver), len(ver)),
            "reidentified": sum(bool(f["reidentified"]) for f in faces),
            "reidentified_rate": _rate(sum(bool(f["reidentified"]) for f in faces), len(faces)),
            "matches_original_rate": _rate(sum(bool(f["matches_original"]) for f in faces), len(faces)),
            "mean_distance": _mean([f["distance"] for f in faces]),
            "faces_residual_rate": _rate(sum(f["residual"] for f in faces), len(faces)),
            "people": len(bodies),
            "people_residual_rate": _rate(sum(b["residual"] for b in bodies), len(bodies)),
            "private_rate": _rate(sum(fr["verdict"] == "private" for fr in frs), len(frs)),
            "altered_share": _mean([fr["change"]["altered_share"] for fr in frs]),
            "ssim": _mean([fr["change"]["ssim"] for fr in frs]),
            "ssim_inside": _mean([fr["change"]["ssim_inside"] for fr in frs]),
            "ssim_outside": _mean([fr["change"]["ssim_outside"] for fr in frs]),
        })
    rates = [r["reidentified_rate"] for r in rows]
    first, stays = zero_from(values, rates) if all(r is not None for r in rates) else (None, None)
    g = auditor.gallery
    chance = rows[0]["identification_chance"] if rows else None
    return {
        "method": method, "param": param, "values": values, "seed": seed,
        "images": [str(p) for p in images], "rows": rows,
        "reid_zero_first": first, "reid_zero_from": stays,
        "gallery": None if g is None else {"kind": gallery_kind, "people": len(g.people), "images": len(g)},
        "chance": chance,
        "reach_chance": {
            "identification": at_chance_from(values, [r["identified_rate"] for r in rows], chance),
            "verification": at_chance_from(values, [r["verified_rate"] for r in rows], 0.0),
            "rank1": stays,
        },
        "per_image": {str(v): [{k: fr[k] for k in ("image", "verdict", "reasons", "change")}
                               | {"distances": [f["distance"] for f in fr["faces"]]} for fr in per[v]] for v in values},
        "errors": errors, "examples": examples,
        "detectors": list(auditor.detect.names),
    }


def plot(doc: dict, path: str | Path | None = None):
    """The privacy-utility figure; saved to ``path`` as PNG if given. Returns PNG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    param, rows = doc["param"], doc["rows"]
    x = np.array([r[param] for r in rows], float)
    get = lambda k: np.array([np.nan if r[k] is None else r[k] for r in rows], float)  # noqa: E731
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    if doc.get("chance") is not None:
        a1.plot(x, get("identified_rate"), "*-", color="#000000", lw=2,
                label=f"(a) identified among {doc['gallery']['people']} ({doc['gallery']['kind']} gallery)")
        a1.axhline(doc["chance"], color="#000000", lw=0.8, ls=":", label=f"chance level of (a): 1/{doc['gallery']['people']}")
    a1.plot(x, get("verified_rate"), "P-", color="#2ca02c", lw=1.5, label="(b) verified at FMR 1%")
    a1.plot(x, get("reidentified_rate"), "o-", color="#d62728", lw=2, label="(c) re-identified (rank-1)")
    a1.plot(x, get("matches_original_rate"), "o:", color="#f08080", label="faces within 0.6 of the original")
    a1.plot(x, get("faces_residual_rate"), "s--", color="#ff7f0e", label="faces still detected")
    a1.plot(x, get("people_residual_rate"), "^--", color="#9467bd", label="people still detected")
    a1.plot(x, get("altered_share"), "d:", color="#7f7f7f", label="share of image altered")
    a1.plot(x, get("ssim"), "v:", color="#1f77b4", label="SSIM, whole image")
    if (x > 0).all() or x.max() > 8:
        a1.set_xscale("symlog", linthresh=1 if doc["param"] != "strength" else 0.5)
    a1.set_xticks(x)
    a1.set_xticklabels([f"{v:g}" for v in x])
    a1.set_ylim(-0.03, 1.03)
    a1.set_xlabel(LABEL[param])
    a1.set_ylabel("rate / share / SSIM")
    a1.grid(alpha=0.3)
    d = get("mean_distance")
    if not np.isnan(d).all():
        a3 = a1.twinx()
        a3.plot(x, d, "o:", color="#8c564b", alpha=0.8, label="mean face distance (right axis)")
        a3.axhline(0.6, color="#8c564b", lw=0.8, ls="--")
        a3.set_ylabel("face distance, original vs output (same person < 0.6)", fontsize=8, color="#8c564b")
        a3.set_ylim(0, max(1.0, float(np.nanmax(d)) * 1.05))
        h1, l1 = a1.get_legend_handles_labels()
        h3, l3 = a3.get_legend_handles_labels()
        a1.legend(h1 + h3, l1 + l3, fontsize=8, loc="center right")
    else:
        a1.legend(fontsize=8, loc="center right")
    a1.set_title(f"{doc['method']}: " + attack_summary(doc).replace("; ", "\n"), fontsize=9)

    ssim = get("ssim")
    for key, style, color, label in [("identified_rate", "*-", "#000000", "(a) identified"),
                                     ("reidentified_rate", "o-", "#d62728", "(c) re-identified"),
                                     ("faces_residual_rate", "s--", "#ff7f0e", "faces still detected"),
                                     ("people_residual_rate", "^--", "#9467bd", "people still detected")]:
        a2.plot(ssim, get(key), style, color=color, label=label)
    for xi, si, ri in zip(x, ssim, get("identified_rate") if doc.get("chance") is not None else get("reidentified_rate")):
        if not np.isnan(si) and not np.isnan(ri):
            a2.annotate(f"{xi:g}", (si, ri), textcoords="offset points", xytext=(4, 4), fontsize=8)
    a2.set_xlabel("utility: SSIM of the whole image with the original (1 = unchanged)")
    a2.set_ylabel("privacy risk (lower is better)")
    a2.set_ylim(-0.03, 1.03)
    a2.grid(alpha=0.3)
    a2.legend(fontsize=8, loc="upper left")
    a2.set_title("privacy-utility trade-off (labels: " + param + ")")
    fig.suptitle(f"{len(doc['images'])} image(s), audit detectors: {', '.join(doc['detectors'])}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def render_html(doc: dict, png: bytes, command: str | None = None) -> str:
    import base64
    import html

    from .report import CSS, data_uri, thumbnail

    e = html.escape
    p = doc["param"]
    cols = [(p, p), ("faces", "faces"), ("identified_rate", "(a) identified"), ("mean_rank", "mean rank"),
            ("identified_among_5_rate", "(a) expected named among 5"), ("verified_rate", "(b) verified"), ("reidentified_rate", "(c) re-identified (rank-1)"),
            ("matches_original_rate", "within 0.6"), ("mean_distance", "mean distance"),
            ("faces_residual_rate", "faces still detected"), ("people_residual_rate", "people still detected"),
            ("private_rate", "private"), ("altered_share", "altered"), ("ssim", "SSIM"), ("ssim_inside", "SSIM inside")]

    def fmt(k, v):
        if v is None:
            return "-"
        if k in (p, "faces"):
            return f"{v:g}"
        if k.endswith("rate") or k == "altered_share":
            return f"{100 * v:.0f}%"
        return f"{v:.3f}"

    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>fuzzypeople sweep</title><style>", CSS,
             "</style></head><body><h1>fuzzypeople privacy-utility sweep</h1>",
             f"<div class='meta'>method {e(doc['method'])}, {e(p)} {e(', '.join(f'{v:g}' for v in doc['values']))}; "
             f"{len(doc['images'])} image(s); seed {doc['seed']}"
             + (f"<br><code>{e(command)}</code>" if command else "") + "</div>",
             f"<p><b>{e(attack_summary(doc))}</b><br>{e(summary_line(doc))}</p>",
             f"<img alt='privacy-utility plot' src='data:image/png;base64,{base64.b64encode(png).decode()}'>",
             "<table><tr>" + "".join(f"<th>{e(h)}</th>" for _, h in cols) + "</tr>"]
    for r in doc["rows"]:
        parts.append("<tr>" + "".join(f"<td>{e(fmt(k, r[k]))}</td>" for k, _ in cols) + "</tr>")
    parts.append("</table>")
    for ex in doc.get("examples", []):
        parts.append(f"<h2>{e(Path(ex['image']).name)}</h2><div class='pair'>")
        parts.append(f"<figure><img alt='original' src='{data_uri(thumbnail(ex['original'], 240)[0])}'>"
                     "<figcaption>original</figcaption></figure>")
        for v, out in zip(doc["values"], ex["outputs"]):
            parts.append(f"<figure><img alt='{e(p)} {v:g}' src='{data_uri(thumbnail(out, 240)[0])}'>"
                         f"<figcaption>{e(p)} {v:g}</figcaption></figure>")
        parts.append("</div>")
    for err in doc["errors"]:
        parts.append(f"<div class='risk'>error: {e(err['path'])}: {e(err['message'])}</div>")
    parts.append("</body></html>")
    return "".join(parts)


def attack_summary(doc: dict) -> str:
    """Per attack, the setting from which it stays at chance level."""
    p, rc = doc["param"], doc.get("reach_chance") or {}
    parts = []
    for key, label in (("identification", "(a) identification"), ("verification", "(b) verification"),
                       ("rank1", "(c) rank-1")):
        if key == "identification" and doc.get("chance") is None:
            continue
        v = rc.get(key)
        parts.append(f"{label} at chance from {p} {v:g}" if v is not None else f"{label} never at chance here")
    return "; ".join(parts)


def summary_line(doc: dict) -> str:
    p = doc["param"]
    if doc["reid_zero_from"] is None:
        worst = [r["reidentified_rate"] for r in doc["rows"]]
        if all(w is None for w in worst):
            return "no face found by the audit's detectors: re-identification could not be measured"
        return f"re-identification never reaches zero ({doc['method']}, largest {p} {doc['values'][-1]:g})"
    msg = f"re-identification (rank-1) reaches zero at {p} {doc['reid_zero_from']:g} ({doc['method']})"
    if doc["reid_zero_first"] != doc["reid_zero_from"]:
        msg += f"; it first touched zero at {doc['reid_zero_first']:g} but rose again"
    return msg


def _clean_json(doc: dict) -> str:
    from .report import dumps

    return dumps({k: v for k, v in doc.items() if k != "examples"})


@click.command("sweep", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-m", "--method", type=click.Choice(list(PARAM)), default="scramble", show_default=True, help="Method to sweep.")
@click.option("--radius", default=None, metavar="LIST", help=f"scramble radii [{DEFAULTS['radius']}].")
@click.option("--block", default=None, metavar="LIST", help=f"pixelate block sizes [{DEFAULTS['block']}].")
@click.option("--strength", default=None, metavar="LIST", help=f"blur sigmas [{DEFAULTS['strength']}].")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("sweep"), show_default=True, help="Folder for sweep.png, sweep.html and sweep.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="scramble: seed, for reproducible curves.")
@click.option("--gallery", type=click.Path(path_type=Path), default=None, help="Known faces for attack (a), one folder per person (the swept photos' people among them). Default: a stand-in made of variants of each photo plus the distractor faces.")
@click.option("--detectors", default="mtcnn,dlib-hog,hog-people", show_default=True, help="The audit's detectors.")
@click.option("-q", "--quiet", is_flag=True, help="No table.")
def sweep_command(inputs, method, radius, block, strength, output, seed, gallery, detectors, quiet):
    """Privacy-utility curve: anonymise INPUTS (photos or folders) at several
    strengths of one method and audit each result.

    \b
    fuzzypeople sweep photo.jpg --radius 0,2,4,8,16,32,64
    fuzzypeople sweep photos/ --method pixelate --block 4,8,16,32
    fuzzypeople sweep photo.jpg --method blur --strength 1,2,4,8,16

    Prints, per attack ((a) identification among the gallery's people, (b)
    verification, (c) rank-1), the smallest setting from which it stays at
    chance level. Without --gallery, attack (a) uses a stand-in gallery made
    of variants of each photo (stronger than a real attacker's).
    """
    from ..io.image import EXTENSIONS
    from ..io.paths import expand_inputs
    from .shell import command_line, fail
    from .core import Auditor
    from .detectors import parse

    param = PARAM[method]
    given = {"radius": radius, "block": block, "strength": strength}
    others = [k for k, v in given.items() if v is not None and k != param]
    if others:
        fail(f"--{others[0]} does not apply to --method {method}; use --{param}")
    try:
        values = parse_values(given[param] or DEFAULTS[param], param)
        names = parse(detectors)
    except ValueError as exc:
        fail(str(exc))
    for i in inputs:
        if not Path(i).exists():
            fail(f"{i}: no such file or folder")
    images = [f for f, _ in expand_inputs(list(inputs), EXTENSIONS)]
    if not images:
        fail("no photos found in " + ", ".join(map(str, inputs)))
    if output.exists() and not output.is_dir():
        fail(f"{output}: exists and is not a folder")
    try:
        auditor = Auditor(names)
        if gallery is not None:
            auditor.load_gallery(gallery)
        doc = run_sweep(images, method, values, auditor=auditor, seed=seed)
    except FuzzyError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:
        fail(f"unexpected {type(exc).__name__}: {exc}")
    if doc["errors"] and len(doc["errors"]) == len(images):
        e = doc["errors"][0]
        fail(f"{e['path']}: {e['message']}")
    command = command_line()
    doc["command"] = command
    output.mkdir(parents=True, exist_ok=True)
    png = plot(doc, output / "sweep.png")
    (output / "sweep.json").write_text(_clean_json(doc), encoding="utf-8")
    (output / "sweep.html").write_text(render_html(doc, png, command), encoding="utf-8")
    if not quiet:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"fuzzypeople sweep: {method}")
        for h in (param, "faces", "(a) named", "mean rank", "(b) verified", "(c) re-id", "d<0.6", "mean dist", "faces left", "people left", "altered", "SSIM", "SSIM in"):
            t.add_column(h, justify="right")
        pct = lambda v: "-" if v is None else f"{100 * v:.0f}%"  # noqa: E731
        num = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        for r in doc["rows"]:
            t.add_row(f"{r[param]:g}", str(r["faces"]), pct(r["identified_rate"]), num(r["mean_rank"]),
                      pct(r["verified_rate"]), pct(r["reidentified_rate"]), pct(r["matches_original_rate"]),
                      num(r["mean_distance"]),
                      pct(r["faces_residual_rate"]), pct(r["people_residual_rate"]), pct(r["altered_share"]),
                      num(r["ssim"]), num(r["ssim_inside"]))
        Console(width=max(110, Console().width)).print(t)
    for err in doc["errors"]:
        click.echo(f"fuzzypeople: error: {err['path']}: {err['message']}", err=True)
    if doc.get("chance") is not None:
        click.echo(f"attack (a): closed set of {doc['gallery']['people']} candidates ({doc['gallery']['kind']} gallery, "
                   f"{doc['gallery']['images']} photos), chance level {100 * doc['chance']:.1f}%")
    click.echo(attack_summary(doc))
    click.echo(summary_line(doc))
    click.echo(f"wrote {output / 'sweep.png'}, {output / 'sweep.html'}, {output / 'sweep.json'}")
    sys.exit(2 if doc["errors"] else 0)


__all__ = ["run_sweep", "plot", "sweep_command", "parse_values", "zero_from"]

