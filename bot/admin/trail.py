"""The audit log: who did what, when, to what, with the values before and after."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request

from bot.admin.common import bp, reading, scope, staff_page
from storage import audit
from storage.enums import StaffRole


@bp.route("/auditoria")
@staff_page(residents=False)
def trail() -> Any:
    if scope().role not in (StaffRole.MUNICIPALITY, StaffRole.VIEWER):
        abort(403)  # the log names every user and target in the city
    with reading() as db:
        rows = audit.entries(
            db,
            actor=request.args.get("usuario") or None,
            action=request.args.get("accion") or None,
            target_type=request.args.get("objeto") or None,
        )
        return render_template("admin/trail.html", rows=rows, args=request.args)
