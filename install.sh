#!/usr/bin/env bash
# Install everything fuzzypeople and its tests need on a fresh machine:
# system packages (when run as root with apt), the Python package with all
# extras, and the model files (they ship inside the package; verified here).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    # chromium: the HTML audit report test and the web app test (Playwright) open pages in a real browser.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
    # node + npm: tests/test_conversion.py runs the original TF.js models (tools/verify_conversion.py).
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
fi

"$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[all,dev]"
"$PYTHON" tools/vendor_models.py --check
# onnxruntime-web (npm, pinned and hash-checked) for the in-browser page: `fuzzypeople site`, `serve`.
"$PYTHON" tools/fetch_ort_web.py
