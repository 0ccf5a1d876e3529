"""A one-page printable summary of a macrodistrito against the city, for a date range."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from bot.evidence.chart import line_chart
from bot.evidence.measures import (
    CITY,
    Place,
    local_midnight,
    measures,
    series,
    zone_place,
)
from bot.i18n.console import gettext_noop

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

TEMPLATE = _ENV.from_string(
    """<!doctype html>
<html lang="es"><head><meta charset="utf-8">
<title>Mi Barrio: {{ place.name }}, {{ first }} a {{ last }}</title>
<style>
@page { size: A4; margin: 12mm; }
body { font: 11px/1.35 system-ui, sans-serif; color: #111; max-width: 190mm; margin: auto; }
h1 { font-size: 17px; margin: 0 0 2px; } h2 { font-size: 13px; margin: 10px 0 4px; }
table { border-collapse: collapse; width: 100%; } th, td { padding: 2px 5px; text-align: right;
 border-bottom: 1px solid #ddd; } th:first-child, td:first-child { text-align: left; }
.note { color: #555; font-size: 10px; }
</style></head><body>
<h1>Mi Barrio — {{ place.name }}</h1>
<p class="note">Del {{ first }} al {{ last }} (hora de La Paz). Cada vecino cuenta en la zona
que tenía en ese momento.</p>
<h2>Participación</h2>
<table><tr><th></th><th>{{ place.name }}</th><th>La Paz</th></tr>
{% for label, key in rows %}<tr><td>{{ label }}</td><td>{{ fmt(here, key) }}</td>
<td>{{ fmt(city, key) }}</td></tr>{% endfor %}
</table>
<h2>Vecinos activos por semana</h2>
{{ chart }}
<h2>Por zona</h2>
<table><tr><th>Zona</th><th>Inscritos</th><th>Activos</th><th>Participación</th>
<th>Reportes</th><th>Horas a resolver (mediana)</th><th>Participación en encuestas</th></tr>
{% for z in zones %}<tr><td>{{ z.name }}</td><td>{{ z.residents.signed_up }}</td>
<td>{{ z.residents.active }}</td><td>{{ pct(z.residents.participation_rate) }}</td>
<td>{{ z.reports.new }}</td><td>{{ num(z.reports.hours_to_resolution.median) }}</td>
<td>{{ pct(z.polls.turnout) }}</td></tr>{% endfor %}
</table>
<p class="note">Participación = vecinos que escribieron o votaron / vecinos inscritos en el
periodo. Tiempos en horas desde el reporte; p90 = el 90% se resolvió antes.
Con menos de 10 casos las diferencias no permiten conclusiones.</p>
</body></html>
"""
)

# The measures as rows: (label, key). The labels are marked for the staff console's catalog,
# which shows them translated on its Evidencia page; the printed summary keeps the Spanish.
ROWS = (
    (gettext_noop("Inscritos al final"), "residents.signed_up"),
    (gettext_noop("Nuevos inscritos"), "residents.signed_up_new"),
    (gettext_noop("Vecinos activos"), "residents.active"),
    (gettext_noop("Participación"), "residents.participation_rate"),
    (gettext_noop("Bajas"), "residents.opted_out"),
    (gettext_noop("Reportes"), "reports.new"),
    (gettext_noop("Horas al primer cambio (mediana)"), "reports.hours_to_first_change.median"),
    (gettext_noop("Horas a resolver (mediana)"), "reports.hours_to_resolution.median"),
    (gettext_noop("Horas a resolver (p90)"), "reports.hours_to_resolution.p90"),
    (gettext_noop("Confirmados por el vecino"), "reports.confirmed_share"),
    (gettext_noop("Apoyos «yo también»"), "reports.supporters"),
    (gettext_noop("Invitados a encuestas"), "polls.invited"),
    (gettext_noop("Participación en encuestas"), "polls.turnout"),
    (gettext_noop("Mensajes enviados"), "broadcasts.recipients"),
    (gettext_noop("Entregados"), "broadcasts.delivered"),
    (gettext_noop("Fallidos"), "broadcasts.failed"),
    (gettext_noop("Ofertas de vecinos activas"), "services.offers_active"),
    (gettext_noop("Ofertas nuevas"), "services.offers_new"),
    (gettext_noop("Búsquedas (BUSCO)"), "services.searches"),
    (gettext_noop("Búsquedas con resultado"), "services.found_share"),
)


def _get(figures: dict[str, Any], key: str) -> Any:
    value: Any = figures
    for part in key.split("."):
        value = value[part]
    return value


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def fmt(figures: dict[str, Any], key: str) -> str:
    value = _get(figures, key)
    if key.endswith(("rate", "share", "turnout")):
        return _pct(value)
    return _num(value)


def summary_html(session: Session, where: Place, first: date, last: date) -> str:
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    weeks = series(session, where, first, last, "week")
    city_weeks = series(session, CITY, first, last, "week")
    chart = line_chart(
        [w["from"][5:10] for w in weeks],
        [
            (where.name, [w["residents"]["active"] for w in weeks]),
            ("La Paz", [w["residents"]["active"] for w in city_weeks]),
        ],
        title=f"Vecinos activos por semana: {where.name} y La Paz",
    )
    zones = []
    for zone_id in where.zone_ids or ():
        zone = zone_place(session, zone_id)
        figures = measures(session, zone, start, end)
        zones.append({"name": zone.name, **figures})
    zones.sort(key=lambda z: z["name"])
    return TEMPLATE.render(
        place=where,
        first=first.isoformat(),
        last=last.isoformat(),
        here=measures(session, where, start, end),
        city=measures(session, CITY, start, end),
        rows=ROWS,
        fmt=fmt,
        pct=_pct,
        num=_num,
        zones=zones,
        chart=Markup(chart),
    )
