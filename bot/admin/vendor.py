"""Vendored browser libraries, served from here (never a CDN): htmx refreshes live parts of
pages; every page works without it. A browser that takes gzip gets the pre-compressed file
(htmx: 52 KB plain, 17 KB gzipped), so a thin connection pays the small figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, request, send_file

from bot.admin.common import bp

STATIC = Path(__file__).parent / "static"
HTMX = "htmx-2.0.11.min.js"  # htmx.org 2.0.11 from npm; licence: htmx-2.0.11.LICENSE.txt
VENDORED = frozenset({HTMX})
YEAR = 365 * 24 * 3600  # the version is in the name: a new version is a new address


@bp.route("/vendor/<name>")
def vendored(name: str) -> Any:
    if name not in VENDORED:
        abort(404)
    packed = STATIC / f"{name}.gz"
    if "gzip" in request.accept_encodings and packed.exists():
        response = send_file(packed, mimetype="text/javascript", max_age=YEAR)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_file(STATIC / name, mimetype="text/javascript", max_age=YEAR)
    response.vary.add("Accept-Encoding")
    return response
