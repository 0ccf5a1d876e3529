"""The SMS cost of every message: rendered with realistic values, counted in segments.

docs/sms-cost.md is generated from cost_markdown() (`mibarrio i18n cost`); the review CSV
(bot.i18n.review) shows the same counts per message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from bot import channels
from bot.flows.zones import numbered
from bot.i18n import LANGUAGES
from bot.i18n.catalogs import extract, load, placeholders, translator
from storage.seed import read_zones


@functools.cache
def _samples() -> Mapping[str, str]:
    """Realistic values, as long as real ones get: the flows cut texts to these lengths.
    Made once per process (the zonas file is part of the code): read again for every message,
    it was most of the translators' page's time."""
    return MappingProxyType(_realistic_values())


def _realistic_values() -> dict[str, str]:
    zones = read_zones()
    longest = sorted((z.name for z in zones), key=len, reverse=True)
    macros = list(dict.fromkeys(z.macrodistrict for z in zones))
    per_macro: dict[str, list[str]] = {}
    for z in zones:
        per_macro.setdefault(z.macrodistrict, []).append(z.name)
    biggest = max(per_macro, key=lambda m: sum(len(n) + 4 for n in per_macro[m]))
    return {
        "zone": longest[0],
        "old_zone": longest[1],  # a second zona in the same text (the one a mapper left)
        # A leader's MAPEO AVANCE lists mappers as far as they fit (bot/flows/mapping.py).
        "lines": "...4567: 12 (aprobados 9)",
        "options": numbered(longest[:5]),
        "macro": biggest,
        "macro_options": numbered(macros),
        "macro_zones": numbered(per_macro[biggest]),
        "question": "¿Prefiere feria dominical en la plaza o en la calle Murillo?",
        "poll_options": "1 En la plaza, 2 En la calle Murillo, 3 No sabe",
        "items": "1 ¿Prefiere feria dominical en l..., 2 ¿Arreglamos primero la ca...",
        "counts": "En la plaza 120 (55%), En la calle Murillo 80 (37%), No sabe 18 (8%)",
        "short_counts": "Si 120 (60%), No 80 (40%)",
        "votes": "218",
        "eligible": "1534",
        "residents": "1534",
        "poll": "¿Prefiere feria dominical en la pl...",
        "days": "14",
        "time": "07:00",
        "code": "R-7K3P",
        "description": "Hay un bache enorme frente a la escu...",
        "place": "Calle Murillo esquina...",
        "note": "Cuadrilla asignada para el lunes; el corte de agua durara hasta las 1...",
        "text": "Corte de agua el martes de 8:00 a 14:00 en Sopocachi por trabajos "
        "en la red. Guarde agua con tiempo.",
        "n": "2",
        "date": "20/11/2026",
        # Neighbours' services: a text as long as allowed (30), and two offers found (the flow
        # shows as many as fit one SMS).
        "offer_text": "Arreglo grifos, cañerías y más",
        # An item's text quoted to fit beside a leader's options (bot/flows/leader_info.py).
        "excerpt": "Centro de Salud Sopocachi, Calle Belisario Sal...",
        # A leader's new text quoted in a confirmation, as short as the flow may cut it
        # (PREVIEW_FITS in bot/flows/leader_info.py).
        "preview": "Centro de Salud Sopocachi: ahora de 7:00 a 20:00, también sábados y "
        "domingos...",
        # A leader's text too long for an item (bot/flows/leader_info.py): the limit, its length.
        "limit": "110",
        "length": "300",
        "phone": "71234567",
        "max": "30",
        "offers": "1 Arreglo grifos, cañerías y más 71234567 (Sopocachi); "
        "2 Plomero con 20 años de oficio 76543210",
        "total": "12",
        # Courses (bot/flows/courses.py): titles up to 40 letters; lesson texts are course data,
        # each checked against its frame when imported (`mibarrio course import`).
        "title": "Su junta vecinal y el POA de su zona",
        "courses": "1 Cómo usar Mi Barrio; 2 Su junta vecinal y el POA; 3 Agua segura en casa",
        "answers": "1 Los vecinos de la zona; 2 El Alcalde; 3 La Policía",
        "correct": "3",
        "right": "5",
        "done": "11",  # lessons done, in a course's progress line
        "explanation": "Las prioridades de la zona se deciden en asamblea. Si usted va, su voz y "
        "su voto cuentan.",
        "hour": "19:00",
        "first": "7:00",
        "last": "20:00",
        # Youth mapping: a leader's review and progress figures.
        "extras": ", con ubicacion, con foto",
        "left": "12",
        "mappers": "12",
        "recorded": "164",
        "approved": "120",
        "rejected": "32",
        "pending": "12",
        "covered": "11",
        "all": "11",
    }


# Labels shown inside other messages: the sample is their text in the rendering language.
_LABEL_SAMPLES = {
    "category": "Calles y veredas",
    "status": "en curso",
    "topic": "Encuestas",
    "state": "sí",
    "label": "Junta vecinal",
    "kind": "Lugar peligroso",
}
# What a mapper picks from (bot/flows/mapping.py): the needs' list for its prompt, the assets'
# (longer in Spanish) for any other.
_NEEDS_PROMPT = "¿Qué falta o está mal? {kinds}. 0 Volver"
_MAP_NEEDS = (
    "Luz rota",
    "Sin agua",
    "Basural",
    "Lugar peligroso",
    "Bache",
    "Desagüe tapado",
    "Perros sueltos",
    "Deslizamiento",
    "Otro",
)
_MAP_ASSETS = (
    "Parque o plaza",
    "Grifo de agua",
    "Poste de luz",
    "Cancha",
    "Escuela",
    "Posta",
    "Tienda",
    "Mercado",
    "Sede social",
    "Parada",
    "Otro",
)
# The zona information's categories (bot/flows/info.py), all of them, as the longest list.
_INFO_LABELS = (
    "Salud",
    "Escuela",
    "Policía",
    "Ferias",
    "Agua",
    "Basura",
    "Junta vecinal",
    "Emergencias",
    "Subalcaldía",
)


def sample_values(msgid: str, translate: Callable[[str], str] = lambda m: m) -> dict[str, str]:
    """Realistic values for every placeholder of a message; labels via ``translate``."""
    samples = _samples()
    values: dict[str, str] = {}
    for name in placeholders(msgid):
        if name in _LABEL_SAMPLES:
            values[name] = translate(_LABEL_SAMPLES[name])
        elif name == "results":
            values[name] = translate(
                "Resultados: {counts}. Votaron {votes} de {eligible} vecinos."
            ).format(counts=samples["short_counts"], votes="200", eligible="1534")
        elif name == "categories":
            line = translate("{n} {label}")
            values[name] = "; ".join(
                line.format(n=i, label=translate(label))
                for i, label in enumerate(_INFO_LABELS, start=1)
            )
        elif name == "kinds":
            line = translate("{n} {label}")
            labels = _MAP_NEEDS if msgid == _NEEDS_PROMPT else _MAP_ASSETS
            values[name] = "; ".join(
                line.format(n=i, label=translate(label)) for i, label in enumerate(labels, start=1)
            )
        elif name == "topics":
            line = translate("{n} {topic}: {state}")
            values[name] = "; ".join(
                line.format(n=i, topic=translate(label), state=translate(state))
                for i, (label, state) in enumerate(
                    [
                        ("Anuncios", "sí"),
                        ("Encuestas", "sí"),
                        ("Noticias", "no"),
                        ("Sus reportes", "sí"),
                    ],
                    start=1,
                )
            )
        else:
            values[name] = samples.get(name, "1234")
    if "macrodistrito" in msgid:
        values["options"] = samples["macro_options"]
    elif "{macro}" in msgid:
        values["options"] = samples["macro_zones"]
    elif "{question}" in msgid and "{options}" in msgid:
        values["options"] = samples["poll_options"]
    if "{items}" in msgid and msgid.startswith("Sus reportes"):
        line = translate("{code} {category}: {status}")
        values["items"] = "; ".join(
            line.format(code=code, category=translate(category), status=translate(status))
            for code, category, status in (
                ("R-7K3P", "Agua", "en curso"),
                ("R-AB2C", "Calles y veredas", "recibido"),
                ("R-XY9Z", "Basura", "resuelto"),
            )
        )
    return values


def missing_samples() -> set[str]:
    """Placeholders with no realistic sample (they get a 4-character stand-in)."""
    known = set(_samples()) | set(_LABEL_SAMPLES) | {"results", "topics", "categories", "kinds"}
    return {name for msgid in extract() for name in placeholders(msgid)} - known


def render_sample(
    msgid: str, text: str, translate: Callable[[str], str] = lambda m: m, channel: str = "sms"
) -> str:
    """A message as a resident receives it: filled with realistic values, rendered for SMS."""
    try:
        filled = text.format(**sample_values(msgid, translate))
    except (KeyError, IndexError, ValueError):
        filled = text  # a broken translation: check() reports it; cost what it would show
    return channels.render(filled, channel)  # type: ignore[arg-type]


@dataclass
class Cost:
    msgid: str
    text: dict[str, str]  # language -> rendered SMS text
    translated: dict[str, bool]  # False: no translation yet (the Spanish would be shown)

    def segments(self, lang: str) -> int:
        return channels.segments(self.text[lang])

    def chars(self, lang: str) -> int:
        return len(self.text[lang])


def costs() -> list[Cost]:
    """Every message rendered for SMS with realistic values, in both languages."""
    catalogs = {lang: load(lang) for lang in LANGUAGES}
    translate = {lang: translator(c) for lang, c in catalogs.items()}
    rows = []
    for msgid in extract():
        messages = {lang: catalogs[lang].get(msgid) for lang in LANGUAGES}
        rows.append(
            Cost(
                msgid,
                {
                    lang: render_sample(msgid, translate[lang](msgid), translate[lang])
                    for lang in LANGUAGES
                },
                {lang: bool(m is not None and m.string) for lang, m in messages.items()},
            )
        )
    return rows


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def cost_markdown() -> str:
    """docs/sms-cost.md: the SMS cost of every message in both languages."""
    rows = costs()
    lines = [
        "# SMS cost of every message",
        "",
        "Generated by `mibarrio i18n cost --write docs/sms-cost.md` (or `make i18n-cost`);",
        "do not edit by hand. `tests/flows/test_sms_cost.py` fails when this file is stale.",
        "",
        "Each message is rendered the way a resident receives it by SMS: from the language's",
        "catalog, filled with realistic values (the longest zona names, a long poll question,",
        "three reports, ...) and folded to GSM-7 as `GSM7_FOLD=1` does. One segment holds 160",
        "GSM-7 characters (153 each when split); one character outside GSM-7 would make it 70",
        "(67). A message the bot sends in both languages at once (the first welcome) is one SMS",
        "with both texts; the conversation test (`tests/flows/test_sms_cost.py`) measures those",
        "too.",
        "WhatsApp is not billed by length: there every message counts as one.",
        "",
    ]
    for lang, name in (("es", "Spanish"), ("ay", "Aymara")):
        done = [r for r in rows if r.translated[lang]]
        single = sum(1 for r in done if r.segments(lang) == 1)
        gsm = sum(1 for r in done if channels.is_gsm7(r.text[lang]))
        lines.append(
            f"- {name}: {single} of {len(done)} messages fit one segment, "
            f"{gsm} of {len(done)} are GSM-7"
            + (
                f"; {len(rows) - len(done)} not translated yet (-)."
                if len(done) < len(rows)
                else "."
            )
        )
    lines += [
        "",
        "| message | es segments | ay segments | es chars | ay chars |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        seg = {lang: str(r.segments(lang)) if r.translated[lang] else "-" for lang in LANGUAGES}
        chars = {lang: str(r.chars(lang)) if r.translated[lang] else "-" for lang in LANGUAGES}
        lines.append(
            f"| {_cell(r.msgid)} | {seg['es']} | {seg['ay']} | {chars['es']} | {chars['ay']} |"
        )
    return "\n".join(lines) + "\n"
