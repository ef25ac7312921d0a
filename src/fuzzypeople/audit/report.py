"""The audit's outputs: the JSON document (see ``report.schema.json``), the
terminal table and the self-contained HTML report.

The JSON document is the source of truth; the table and the HTML are views
of it (the HTML adds pictures: before/after thumbnails with the detections
boxed, aligned face crops, and plots, all embedded as ``data:`` URIs so the
file can be mailed or archived on its own).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from .. import __version__
from .metrics import AT_RISK, PRIVATE

SCHEMA_ID = "https://github.com/fuzzypeople/fuzzypeople/audit/report.schema.json"
SCHEMA_VERSION = 3  # 3: attacks (a) identification, (b) verification per face; 2: rank-1 reidentified
THUMB = 480  # longest side of the thumbnails in the HTML report


def schema() -> dict:
    """The JSON schema of the audit document."""
    return json.loads(resources.files(__package__).joinpath("report.schema.json").read_text())


def validate(doc: dict) -> None:
    """Raise ``jsonschema.ValidationError`` if ``doc`` does not follow the schema."""
    import jsonschema

    jsonschema.validate(json.loads(dumps(doc)), schema())


# -- the document -----------------------------------------------------------------
def _clean(value):
    """JSON-safe: infinite PSNR becomes ``"inf"``, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return "inf" if math.isinf(v) and v > 0 else (None if math.isnan(v) else round(v, 6))
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def dumps(doc: dict) -> str:
    return json.dumps(_clean(doc), indent=2, ensure_ascii=False)


def item_verdict(frames: list[dict]) -> tuple[str, list[str]]:
    """A photo's verdict is its frame's; a video is at risk if any sampled frame is."""
    if len(frames) == 1 and frames[0].get("index") is None:
        return frames[0]["verdict"], list(frames[0]["reasons"])
    risky = [f for f in frames if f["verdict"] == AT_RISK]
    if not risky:
        return PRIVATE, [f"all {len(frames)} sampled frames private"]
    reasons = [f"{len(risky)} of {len(frames)} sampled frames at risk"]
    for f in risky[:3]:
        reasons.append(f"frame {f['index']}: " + "; ".join(f["reasons"]))
    return AT_RISK, reasons


def _share(num: int, den: int):
    return None if den == 0 else num / den


def _mean(values):
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isinf(v))]
    return None if not vals else float(np.mean(vals))


def summarise(items: list[dict], errors: list[dict]) -> dict:
    """Totals over every audited picture (photos, and each sampled video frame)."""
    frames = [f for it in items for f in it["frames"]]
    faces = [x for f in frames for x in f["faces"]]
    bodies = [x for f in frames for x in f["people"]]
    n_re = sum(bool(x["reidentified"]) for x in faces)
    ident = [x["identification"] for x in faces if x.get("identification")]
    ver = [x["verification"] for x in faces if x.get("verification")]
    n_mo = sum(bool(x.get("matches_original")) for x in faces)
    n_rf = sum(bool(x["residual"]) for x in faces)
    n_rb = sum(bool(x["residual"]) for x in bodies)
    psnrs = [f["change"]["psnr_outside_db"] for f in frames if f["change"]["psnr_outside_db"] is not None]
    return {
        "items": len(items) + len(errors),
        "audited": len(items),
        "private": sum(it["verdict"] == PRIVATE for it in items),
        "at_risk": sum(it["verdict"] == AT_RISK for it in items),
        "errors": len(errors),
        "frames": len(frames),
        "faces": len(faces),
        "faces_reidentified": n_re,
        "reidentified_share": _share(n_re, len(faces)),
        "faces_matching_original": n_mo,
        "matching_original_share": _share(n_mo, len(faces)),
        "faces_residual": n_rf,
        "faces_residual_share": _share(n_rf, len(faces)),
        "people": len(bodies),
        "people_residual": n_rb,
        "people_residual_share": _share(n_rb, len(bodies)),
        "strongest_attack": _strongest(faces),
        "identification_faces": len(ident),
        "faces_identified": sum(bool(x["identified"]) for x in ident),
        "identification_chance": (round(sum(x["chance"] for x in ident), 4) if ident else None),
        "identification_candidates": (ident[0]["candidates"] if ident else None),
        "faces_verified": sum(bool(x["accepted"]) for x in ver),
        "verified_share": _share(sum(bool(x["accepted"]) for x in ver), len(ver)),
        "verification_threshold": (ver[0]["threshold"] if ver else None),
        "verification_fmr": (ver[0]["fmr"] if ver else None),
        "altered_share_mean": _mean([f["change"]["altered_share"] for f in frames]),
        "ssim_inside_mean": _mean([f["change"]["ssim_inside"] for f in frames]),
        "ssim_outside_mean": _mean([f["change"]["ssim_outside"] for f in frames]),
        "psnr_outside_min_db": (min(psnrs) if psnrs else None),
    }


def _strongest(faces: list[dict]) -> str | None:
    """The strongest attack used on any face of the run (identification > verification > rank1)."""
    used = {x.get("attack") for x in faces}
    return next((a for a in ("identification", "verification", "rank1") if a in used), None)


def document(items: list[dict], errors: list[dict], settings: dict, command: str | None = None) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "fuzzypeople", "version": __version__},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "settings": settings,
        "summary": summarise(items, errors),
        "items": items,
        "errors": errors,
    }


# -- terminal -----------------------------------------------------------------------
def _named(faces: list[dict]) -> str:
    ident = [x["identification"] for x in faces if x.get("identification")]
    if not ident:
        return "-"
    return f"{sum(bool(x['identified']) for x in ident)}/{len(ident)} (k={ident[0]['candidates']})"


def _fmt(v, pct=False, digits=2):
    if v is None:
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{100 * v:.1f}%" if pct else f"{v:.{digits}f}"


def print_table(doc: dict, console=None) -> None:
    """A readable rich table: one row per photo or video, the reasons of those
    at risk below it, then the totals."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = Table(title="fuzzypeople audit")
    for col in ("file", "verdict", "faces", "named (a)", "verified (b)", "re-id (c)", "d<match", "min dist", "faces left", "people left", "altered",
                "SSIM in", "SSIM out", "PSNR out"):
        t.add_column(col, justify="left" if col in ("file", "verdict") else "right", no_wrap=col != "file")
    for it in doc["items"]:
        frames = it["frames"]
        faces = [x for f in frames for x in f["faces"]]
        bodies = [x for f in frames for x in f["people"]]
        dists = [x["distance"] for x in faces if x["distance"] is not None]
        psnr = [f["change"]["psnr_outside_db"] for f in frames if f["change"]["psnr_outside_db"] is not None]
        style = "green" if it["verdict"] == PRIVATE else "bold red"
        name = Path(it["original"]).name + (f" ({len(frames)} frames)" if it["media"] == "video" else "")
        t.add_row(
            name, f"[{style}]{it['verdict']}[/]", str(len(faces)),
            _named(faces), str(sum(bool((x.get("verification") or {}).get("accepted")) for x in faces)),
            str(sum(bool(x["reidentified"]) for x in faces)), str(sum(bool(x.get("matches_original")) for x in faces)),
            _fmt(min(dists) if dists else None),
            f"{sum(x['residual'] for x in faces)}/{len(faces)}", f"{sum(x['residual'] for x in bodies)}/{len(bodies)}",
            _fmt(_mean([f["change"]["altered_share"] for f in frames]), pct=True),
            _fmt(_mean([f["change"]["ssim_inside"] for f in frames])),
            _fmt(_mean([f["change"]["ssim_outside"] for f in frames]), digits=3),
            _fmt(min(psnr) if psnr else None, digits=1),
        )
    console.print(t)
    for it in doc["items"]:
        if it["verdict"] != PRIVATE:
            console.print(f"[bold red]at risk[/] {Path(it['original']).name}: " + "; ".join(it["reasons"][:3]),
                          highlight=False)
    for e in doc["errors"]:
        console.print(f"[red]error[/] {e['path']}: {e['message']}", highlight=False, markup=True)
    s = doc["summary"]
    console.print(
        f"{s['audited']} audited: [green]{s['private']} private[/], [red]{s['at_risk']} at risk[/]"
        + (f", {s['errors']} could not be audited" if s["errors"] else "")
        + f". Faces found in originals: {s['faces']}"
        + (f", identified among {s['identification_candidates']} gallery people (a): {s['faces_identified']} of"
           f" {s['identification_faces']} (chance {s['identification_chance']:.1f})" if s["identification_faces"] else "")
        + (f", verified at FMR {100 * s['verification_fmr']:g}% (b, distance < {s['verification_threshold']:.2f}):"
           f" {s['faces_verified']}" if s["verification_threshold"] is not None else "")
        + f", re-identified (c, rank-1): {s['faces_reidentified']}"
        + f" ({_fmt(s['reidentified_share'], pct=True)}), within {doc['settings']['match_distance']} of the original:"
        + f" {s['faces_matching_original']}, still detected: {s['faces_residual']};"
        + f" people found: {s['people']}, still detected: {s['people_residual']}.",
        highlight=False,
    )


# -- HTML ------------------------------------------------------------------------------
def thumbnail(rgb: np.ndarray, side: int = THUMB) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    s = min(1.0, side / max(h, w))
    if s < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb), s


def data_uri(rgb: np.ndarray, fmt: str = "jpeg") -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG" if fmt == "jpeg" else "PNG", quality=85)
    return f"data:image/{fmt};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


RED, GREEN, BLUE = (230, 30, 30), (20, 170, 60), (40, 110, 230)


def _box(img, box, scale, color, label=None, thick=2):
    x1, y1, x2, y2 = (int(round(v * scale)) for v in box)
    cv2.rectangle(img, (x1, y1), (x2, y2), color, thick)
    if label:
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1)
        y = max(th + 3, y1)
        cv2.rectangle(img, (x1, y - th - 4), (x1 + tw + 4, y), color, -1)
        cv2.putText(img, label, (x1 + 2, y - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)


def draw(before: np.ndarray, after: np.ndarray, frame: dict) -> tuple[str, str]:
    """Before/after thumbnails (data URIs): on the original every face and person the
    audit found (red = still found or re-identified, green/blue = hidden); on the
    output what is still found there."""
    b, s = thumbnail(before)
    a, _ = thumbnail(after)
    return draw_thumbnails(b, a, s, frame)


def draw_thumbnails(b: np.ndarray, a: np.ndarray, s: float, frame: dict) -> tuple[str, str]:
    """:func:`draw` on thumbnails already made (``s``: their scale)."""
    b, a = b.copy(), a.copy()
    for f in frame["faces"]:
        risky = f["residual"] or f["reidentified"]
        d = f"d={f['distance']:.2f}" if f["distance"] is not None else ""
        _box(b, f["box"], s, RED if risky else GREEN, f"face {f['id']} {d}".strip())
        if f["reidentified"]:
            _box(a, f["box"], s, RED, f"face {f['id']} re-id {d}")
        for ob in f["output_boxes"]:
            _box(a, ob, s, RED, f"face {f['id']} found")
    for p in frame["people"]:
        _box(b, p["box"], s, RED if p["residual"] else BLUE, f"person {p['id']}")
        for ob in p["output_boxes"]:
            _box(a, ob, s, RED, f"person {p['id']} found")
    return data_uri(b), data_uri(a)


def _plot_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def plots(doc: dict) -> list[tuple[str, str]]:
    """(title, data URI) of the summary plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    frames = [f for it in doc["items"] for f in it["frames"]]
    dists = [x["distance"] for f in frames for x in f["faces"] if x["distance"] is not None]
    match = doc["settings"].get("match_distance", 0.6)
    fig, ax = plt.subplots(figsize=(6, 3))
    if dists:
        ax.hist(dists, bins=np.linspace(0, max(1.0, max(dists)), 26), color="#5b7fd6", edgecolor="white")
    ax.axvline(match, color="#d62728", ls="--", label=f"same person below {match}")
    ax.set_xlabel("face distance, original vs output (dlib ResNet)")
    ax.set_ylabel("faces")
    ax.legend(loc="upper left", fontsize=8)
    n_re = sum(bool(x["reidentified"]) for f in frames for x in f["faces"])
    ax.set_title(f"{sum(d < match for d in dists)} of {len(dists)} faces within {match} of the original; "
                 f"{n_re} re-identified at rank 1", fontsize=9)
    out.append(("Face distances", _plot_uri(fig)))

    s = doc["summary"]
    fig, ax = plt.subplots(figsize=(6, 3))
    labels = ["faces found", "faces within match distance", "faces re-identified (rank-1)", "faces still detected",
              "people found", "people still detected"]
    vals = [s["faces"], s["faces_matching_original"], s["faces_reidentified"], s["faces_residual"], s["people"],
            s["people_residual"]]
    colors = ["#7f7f7f", "#f4a3a3", "#d62728", "#ff7f0e", "#7f7f7f", "#ff7f0e"]
    ax.barh(labels[::-1], vals[::-1], color=colors[::-1])
    for i, v in enumerate(vals[::-1]):
        ax.text(v, i, f" {v}", va="center", fontsize=8)
    ax.set_xlabel("count (all audited pictures)")
    ax.set_title("What the independent detectors still find")
    out.append(("Residual detections", _plot_uri(fig)))
    return out


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{margin:0 0 4px}h2{margin-top:32px;border-bottom:1px solid #ddd}
.meta{color:#666;font-size:13px}.private{color:#17803d;font-weight:600}.risk{color:#c62828;font-weight:600}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#eee}td.l,th.l{text-align:left}.pair{display:flex;gap:12px;flex-wrap:wrap;align-items:flex-start}
figure{margin:0}figcaption{font-size:12px;color:#555}img{max-width:100%;border:1px solid #ccc}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:12px;margin:12px 0}
.chips img{width:72px;height:72px;margin-right:4px}.plots img{max-width:48%}
"""


def _yn(v) -> str:
    return "-" if v is None else ("yes" if v else "no")


def _v(verdict: str) -> str:
    return f'<span class="{"private" if verdict == PRIVATE else "risk"}">{html.escape(verdict)}</span>'


def _n(v, pct=False, digits=3):
    return html.escape(_fmt(v, pct=pct, digits=digits))


def render_html(doc: dict, visuals: dict) -> str:
    """The whole report as one HTML string. ``visuals[(item, frame)]`` holds
    ``before``/``after`` data URIs and optional ``chips`` (pairs of data URIs)."""
    e = html.escape
    s = doc["summary"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        "<title>fuzzypeople audit</title><style>", CSS, "</style></head><body>",
        "<h1>fuzzypeople privacy audit</h1>",
        f"<div class='meta'>{e(doc['created'])} &middot; fuzzypeople {e(doc['tool']['version'])}"
        + (f" &middot; <code>{e(doc['command'])}</code>" if doc.get("command") else "")
        + f"<br>detectors: {e(', '.join(doc['settings']['detectors']))} (independent of the anonymiser's); "
        f"same person below face distance {doc['settings']['match_distance']}; "
        f"a detection is still found at IoU &ge; {doc['settings']['iou']}</div>",
        "<div class='card'><table>",
        "<tr><th class='l'>audited</th><th>private</th><th>at risk</th><th>errors</th><th>faces</th>"
        "<th>(a) identified among the gallery's people</th><th>(b) verified</th><th>(c) re-identified (rank-1)</th><th>within match distance</th><th>faces still detected</th><th>people</th><th>people still detected</th>"
        "<th>altered (mean)</th><th>SSIM outside (mean)</th></tr>",
        f"<tr><td class='l'>{s['audited']}</td><td>{s['private']}</td><td>{s['at_risk']}</td><td>{s['errors']}</td>"
        f"<td>{s['faces']}</td>"
        + (f"<td>{s['faces_identified']} of {s['identification_faces']} (k={s['identification_candidates']}, "
           f"chance {s['identification_chance']:.1f})</td>" if s["identification_faces"] else "<td>- (no gallery)</td>")
        + (f"<td>{s['faces_verified']} (distance &lt; {s['verification_threshold']:.2f}, FMR "
           f"{100 * s['verification_fmr']:g}%)</td>" if s["verification_threshold"] is not None else "<td>-</td>")
        + f"<td>{s['faces_reidentified']} ({_n(s['reidentified_share'], pct=True)})</td>"
        f"<td>{s['faces_matching_original']} ({_n(s['matching_original_share'], pct=True)})</td>"
        f"<td>{s['faces_residual']}</td><td>{s['people']}</td><td>{s['people_residual']}</td>"
        f"<td>{_n(s['altered_share_mean'], pct=True)}</td><td>{_n(s['ssim_outside_mean'])}</td></tr></table>",
    ]
    for err in doc["errors"]:
        parts.append(f"<div class='risk'>error: {e(err['path'])}: {e(err['message'])}</div>")
    parts.append("<div class='plots'>")
    for title, uri in plots(doc):
        parts.append(f"<img alt='{e(title)}' src='{uri}'>")
    parts.append("</div></div>")
    for i, it in enumerate(doc["items"]):
        parts.append(f"<h2>{e(Path(it['original']).name)} &mdash; {_v(it['verdict'])}</h2>")
        parts.append(f"<div class='meta'>{e(it['original'])} &rarr; {e(it['anonymised'])}<br>"
                     + "<br>".join(e(r) for r in it["reasons"] + it.get("notes", [])) + "</div>")
        for j, fr in enumerate(it["frames"]):
            vis = visuals.get((i, j), {})
            c = fr["change"]
            label = "" if fr["index"] is None else f"frame {fr['index']} ({fr['time']:.2f} s): "
            parts.append("<div class='card'>")
            parts.append(f"<div>{e(label)}{_v(fr['verdict'])} &mdash; {e('; '.join(fr['reasons']))}</div>")
            if vis:
                parts.append("<div class='pair'>"
                             f"<figure><img alt='original' src='{vis['before']}'><figcaption>original: what the audit "
                             "found (red = still found or re-identified)</figcaption></figure>"
                             f"<figure><img alt='anonymised' src='{vis['after']}'><figcaption>anonymised: what is "
                             "still found (red)</figcaption></figure></div>")
            parts.append("<table><tr><th class='l'>who</th><th class='l'>found by</th><th>distance</th>"
                         "<th class='l'>within match</th><th>nearest other face</th><th>margin</th>"
                         "<th class='l'>re-identified (rank-1)</th><th class='l'>still found by</th><th class='l'>(a) identification</th>"
                         "<th class='l'>(b) verification</th></tr>")
            for f in fr["faces"]:
                g = f.get("identification")
                gtxt = "-" if not g else (f"{g['person']}: rank {g['rank']} of {g['candidates']}, answer {g['answer']}"
                                          + (" IDENTIFIED" if g["identified"] else ""))
                v = f.get("verification")
                vtxt = "-" if not v else (f"{v['distance']:.2f} vs {v['threshold']:.2f}" + (" ACCEPTED" if v["accepted"] else ""))
                parts.append(f"<tr><td class='l'>face {f['id']}</td><td class='l'>{e(', '.join(f['found_by']))}</td>"
                             f"<td>{_n(f['distance'])}</td><td class='l'>{_yn(f.get('matches_original'))}</td>"
                             f"<td>{_n(f.get('impostor_distance'))}</td><td>{_n(f.get('margin'))}</td>"
                             f"<td class='l'>{_yn(f['reidentified'])}</td>"
                             f"<td class='l'>{e(', '.join(f['still_found_by']) or '-')}</td><td class='l'>{e(gtxt)}</td><td class='l'>{e(vtxt)}</td></tr>")
            for p in fr["people"]:
                parts.append(f"<tr><td class='l'>person {p['id']}</td><td class='l'>{e(', '.join(p['found_by']))}</td>"
                             f"<td>-</td><td class='l'>-</td><td>-</td><td>-</td><td class='l'>-</td>"
                             f"<td class='l'>{e(', '.join(p['still_found_by']) or '-')}</td>"
                             "<td class='l'>-</td><td class='l'>-</td></tr>")
            parts.append("</table>")
            parts.append(f"<div class='meta'>altered {_n(c['altered_share'], pct=True)} of pixels (tolerance "
                         f"{c['tolerance']}); people region {_n(c['people_share'], pct=True)}; altered outside it "
                         f"{_n(c['altered_outside_share'], pct=True)}; SSIM inside {_n(c['ssim_inside'])}, outside "
                         f"{_n(c['ssim_outside'])}; PSNR outside {_n(c['psnr_outside_db'], digits=1)} dB</div>")
            if vis.get("chips"):
                parts.append("<div class='chips'>aligned faces, original | output: ")
                for k, (cb, ca) in enumerate(vis["chips"]):
                    parts.append(f"<img alt='face {k + 1} original' src='{cb}'><img alt='face {k + 1} output' src='{ca}'> ")
                parts.append("</div>")
            parts.append("</div>")
    parts.append("<div class='meta'>Verdict: <b>at risk</b> if any attack names a face found in the original, "
                 "strongest first: (a) closed-set identification, the gallery person nearest the output crop is the "
                 "right one (right by luck once in k); (b) verification, the output crop is nearer the person "
                 "(their gallery photos, or the original without a gallery) than the distance at which the stated "
                 "false-match rate of impostor pairs is accepted; (c) re-identified: its crop (aligned on the original's landmarks) is within the match "
                 "distance of the original (dlib ResNet) <i>and</i> nearer to it than to every other person's face "
                 "(the other faces of this run's originals and fixed distractor faces; the rank-1 test; margin = "
                 "nearest other face minus own distance), is named from the gallery, or if any face or person found in the original is still "
                 "found there by the same detector. The audit's detectors miss people too: <b>private</b> means "
                 "they found nothing left, not that nothing is.</div>")
    parts.append("</body></html>")
    return "".join(parts)


def write_json(doc: dict, path: str | Path) -> None:
    from ..io.atomic import atomic_path

    with atomic_path(path) as tmp:
        Path(tmp).write_text(dumps(doc), encoding="utf-8")


def write_html(doc: dict, visuals: dict, path: str | Path) -> None:
    from ..io.atomic import atomic_path

    text = render_html(_for_html(doc), visuals)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def _for_html(doc: dict) -> dict:
    """The document with private keys dropped but numbers (and inf) kept as floats."""
    if isinstance(doc, dict):
        return {k: _for_html(v) for k, v in doc.items() if not k.startswith("_")}
    if isinstance(doc, list):
        return [_for_html(v) for v in doc]
    return doc
