"""``fuzzypeople serve``: the Fuzzy People experience in a browser, served locally.

Drop in a photo, pick how to hide people, drag the slider and watch them
dissolve; a privacy meter from :mod:`fuzzypeople.audit` says how private the
current setting is, and the result downloads with its metadata stripped. The
app (:mod:`.app`) is a thin FastAPI shell over :class:`fuzzypeople.Anonymizer`
and the audit; its page is plain HTML, JS and CSS shipped in ``static/``.

>>> [c.name for c in commands()]
['serve', 'site']
"""

from __future__ import annotations

import sys

import click


@click.command("serve", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on. Anything but a loopback address lets other machines send photos to it.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--max-mb", type=click.FloatRange(0, min_open=True), default=None, help="Largest upload accepted, in MB (default 25).")
def serve(host, port, max_mb):
    """Start the web app: upload a photo, hide its people, check how private it is.

    Photos stay in this process's memory (the last few, forgotten when it
    stops) and are never written to disk or logged; nothing is fetched from
    the internet. Open the printed address in a browser.
    """
    try:
        import uvicorn

        from .app import Limits, create_app, is_loopback
    except ImportError as exc:
        click.echo(f"fuzzypeople: error: the web app needs its extra: pip install 'fuzzypeople[web]' ({exc})", err=True)
        sys.exit(1)
    if not is_loopback(host):
        click.echo(f"fuzzypeople: warning: serving on {host}, not on 127.0.0.1: other machines on the network can "
                   "reach this app and send it photos. Use the default --host 127.0.0.1 unless you mean it.", err=True)
    limits = Limits() if max_mb is None else Limits(max_bytes=int(max_mb * 1024 * 1024))
    app = create_app(limits, allowed_hosts=None if is_loopback(host) else ["*"])
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"fuzzypeople: serving on http://{shown}:{port}/  (Ctrl+C to stop)", err=True)
    # No access log: request lines are not image content, but a privacy tool keeps no trail at all.
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, server_header=False)


@click.command("site", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=str))
@click.option("--overwrite", is_flag=True, help="Replace OUT_DIR if it is not empty.")
def site_command(out_dir, overwrite):
    """Write the in-browser page as a static site in OUT_DIR (HTML, JS, wasm, models; no CDN).

    Any static file server can host it (python3 -m http.server -d OUT_DIR): the
    photo is analysed and hidden in the visitor's browser and sent nowhere; the
    page's Content-Security-Policy blocks uploads.
    """
    from ..errors import FuzzyError
    from .site import build

    try:
        size = build(out_dir, overwrite=overwrite)
    except (FuzzyError, OSError) as exc:
        click.echo(f"fuzzypeople: error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"fuzzypeople: wrote the in-browser site to {out_dir} ({size / 1e6:.1f} MB); "
               f"try: python3 -m http.server -d {out_dir}", err=True)


def commands() -> list[click.Command]:
    return [serve, site_command]
