"""Youth mappers: MAPEO records a zona's asset or need; leaders register mappers and review.

A mapper is a resident of the zona whom its leader registered by SMS (MAPEADOR ALTA 7...) or
staff registered in the console or with `mibarrio mapper add`; nothing more is asked of them
than of any resident. MAPEO: what the zona has or lacks (two short numbered lists), a few
words, on WhatsApp a location pin and a photo (both optional), then 1 Enviar. The item waits
for review: the zona's leader (MAPEO REVISAR, APROBAR N, RECHAZAR N) or staff. An approved asset
becomes zona information (INFO), an approved need a report in the mapper's name, tagged as
mapped, so its updates and follow-up go to the person who walked there.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.channels import parse_address, quote, segments
from bot.flows.answers import DONT_SEND, SEND, is_back, is_more, yes_or_no
from bot.flows.base import Flow, FlowName, StepResult, Turn, fit_one_sms, stay
from bot.flows.info import ITEM, MORE_HINT
from bot.flows.leader import NOT_A_LEADER
from bot.flows.menu import NOT_UNDERSTOOD, on_choose
from bot.i18n import LANGUAGES, N_
from bot.outbound import channel_for
from bot.render import ListOf, Reply, render, text_of
from bot.text import describes, has_words, normalize, parse_option
from storage import mapping as store
from storage.db import Session
from storage.enums import ResidentStatus
from storage.leaders import leading
from storage.models import (
    MAP_ASSET_KINDS,
    MAP_COVERED_KINDS,
    MAP_NEED_KINDS,
    InfoItem,
    Leader,
    MappedItem,
    Report,
    Resident,
    Zone,
)
from storage.outbox import queue_message
from storage.zones import get_zone

# --- what mappers read -------------------------------------------------------------------------

NOT_A_MAPPER = N_(
    "MAPEO es para los jóvenes mapeadores de la zona. Si quiere mapear su zona, pídale a su "
    "dirigente que lo registre."
)
GROUP = N_(
    "Mapeo de {zone}. ¿Qué registra? 1 Algo que la zona tiene (parque, grifo, escuela...) "
    "2 Algo que falta o está mal (luz rota, basura...) 0 Salir"
)
ASSETS = N_("¿Qué tiene? {kinds}. 0 Volver")
NEEDS = N_("¿Qué falta o está mal? {kinds}. 0 Volver")
DESCRIBE = N_(
    "{kind}: descríbalo en hasta {max} letras, con una referencia. Ejemplo: Plaza con juegos "
    "frente a la iglesia"
)
# The same for a need: the example is something missing or broken.
DESCRIBE_NEED = N_(
    "{kind}: descríbalo en hasta {max} letras, con una referencia. Ejemplo: Hueco grande en la "
    "esquina de la escuela"
)
DESCRIBE_AGAIN = N_("Escriba con palabras qué es y dónde está, por favor.")
DESCRIPTION_TOO_LONG = N_("Es muy largo: use hasta {max} letras.")
# A photo or a pin that came before the words (or with words too long): kept for this item.
KEPT_PHOTO = N_("Guardamos su foto para este registro.")
KEPT_PIN = N_("Guardamos su ubicación para este registro.")
CHOOSE_ABOVE = N_("Ahora responda con un número de la lista.")
GROUP_SHORT = N_("¿Qué registra? 1 Algo que la zona tiene 2 Algo que falta o está mal 0 Salir")
PIN_AND_PHOTO = N_("Si puede, envíe la ubicación del lugar y una foto. 0: seguir sin ellas.")
GOT_PIN = N_("Ubicación recibida. ¿Una foto? Envíela, o 0 para seguir.")
GOT_PHOTO = N_("Foto recibida. ¿La ubicación? Envíela, o 0 para seguir.")
SUMMARY = N_("{kind} en {zone}: {description}. 1 Enviar / 2 No enviar")
SUMMARY_EXTRAS = N_("{kind} en {zone}: {description} ({extras}). 1 Enviar / 2 No enviar")
WITH_BOTH = N_("con ubicación y foto")
WITH_PIN = N_("con ubicación")
WITH_PHOTO = N_("con foto")
CONFIRM_AGAIN = N_("Responda 1 para enviar el registro o 2 para no enviarlo.")
RECORDED = N_(
    "Gracias: su registro {n} va a revisión de su dirigente. Para registrar otro, escriba MAPEO."
)
NOT_RECORDED = N_("No registramos nada. Para empezar otra vez, escriba MAPEO.")
NOT_ANY_MORE = N_("Usted ya no figura como mapeador de la zona: no registramos nada.")
# MAPEO AVANCE and MAPEO BAJA from a mapper.
MY_PROGRESS = N_(
    "Su mapeo en {zone}: registros {recorded}, aprobados {approved}, por revisar {pending}, "
    "rechazados {rejected}."
)
LEAVE_CONFIRM = N_(
    "¿Dejar de ser mapeador de {zone}? Lo que registró se queda. 1 Sí, dejar / 2 No, seguir"
)
LEAVE_AGAIN = N_("Responda 1 para dejar de ser mapeador o 2 para seguir.")
LEFT = N_(
    "Listo: ya no es mapeador de {zone}. Gracias por su ayuda. Su dirigente puede registrarlo "
    "de nuevo."
)
STAYED = N_("Sigue como mapeador de {zone}. Para registrar algo, escriba MAPEO.")

# Sent to the mapper by a leader's or staff's action.
WELCOME = N_(
    "Usted ahora es mapeador de {zone}: escriba MAPEO para registrar lo que la zona tiene o le "
    "falta. Su dirigente lo revisa."
)
FAREWELL = N_("Usted ya no es mapeador de {zone}. Gracias por su ayuda con el mapeo.")
APPROVED_ASSET = N_("Su registro {n} ({kind}) fue aprobado: ya es información de la zona (INFO).")
APPROVED_NEED = N_(
    "Su registro {n} ({kind}) fue aprobado: es el reporte {code}. Le avisaremos de cada cambio."
)
NOT_APPROVED = N_("Su registro {n} ({kind}) no fue aprobado.")
NOT_APPROVED_NOTE = N_("Su registro {n} ({kind}) no fue aprobado: {note}")

KIND_LABELS = {
    "park": N_("Parque o plaza"),
    "water_tap": N_("Grifo de agua"),
    "streetlight": N_("Poste de luz"),
    "sports_field": N_("Cancha"),
    "school": N_("Escuela"),
    "health_post": N_("Posta"),
    "shop": N_("Tienda"),
    "market": N_("Mercado"),
    "community_hall": N_("Sede social"),
    "stop": N_("Parada"),
    "other_asset": N_("Otro"),
    "broken_light": N_("Luz rota"),
    "no_water": N_("Sin agua"),
    "trash_point": N_("Basural"),
    "dangerous_spot": N_("Lugar peligroso"),
    "pothole": N_("Bache"),
    "blocked_drain": N_("Desagüe tapado"),
    "stray_dogs": N_("Perros sueltos"),
    "landslide_risk": N_("Deslizamiento"),
    "other_need": N_("Otro"),
}
OPTION = N_("{n} {label}")

# --- what leaders read -------------------------------------------------------------------------

LEADER_MAPPING = N_(
    "Mapeo de {zone}: MAPEADOR ALTA y el número registra a un joven (BAJA lo quita); "
    "MAPEO AVANCE, el avance. MAS: cómo revisar."
)
LEADER_REVIEW_HELP = N_(
    "MAPEO REVISAR muestra cada registro. APROBAR N lo aprueba tal cual; CORREGIR N y el texto "
    "lo corrige y aprueba; RECHAZAR N y el motivo lo rechaza."
)
CORRECT_HOW = N_(
    "Escriba CORREGIR {n} y el texto corregido, por ejemplo: CORREGIR {n} {description}"
)
BAD_PHONE = N_("No entendí el número. Escriba, por ejemplo: MAPEADOR ALTA 71234567")
NOT_A_RESIDENT = N_(
    "El {phone} no está inscrito en {zone}. Pídale que escriba HOLA a este número y elija su "
    "zona; luego repita MAPEADOR ALTA."
)
MAPPER_ADDED = N_("Listo: {phone} es mapeador de {zone}. Le enviamos cómo mapear.")
MAPPER_ALREADY = N_("El {phone} ya es mapeador de {zone}.")
MAPPER_REMOVED = N_("Listo: {phone} ya no es mapeador de {zone}.")
NOT_A_MAPPER_THERE = N_("El {phone} no es mapeador de {zone}.")
TO_REVIEW = N_(
    "Por revisar ({left}): {n} {kind}: {description}{extras}. APROBAR {n} / RECHAZAR {n}"
)
MORE_TO_REVIEW = N_("MAS: otro")
NOTHING_TO_REVIEW = N_("No hay registros de mapeo por revisar en {zone}.")
NO_SUCH_ITEM = N_("No hay un registro {n} por revisar en {zone}.")
# Counts as "label: n", which reads right for 1 as for 12.
LEADER_APPROVED_ASSET = N_("Aprobado {n}: ya es información de {zone}. Por revisar: {left}.")
LEADER_APPROVED_NEED = N_("Aprobado {n}: es el reporte {code}. Por revisar: {left}.")
LEADER_REJECTED = N_("Rechazado {n}: avisamos al mapeador. Por revisar: {left}.")
PROGRESS = N_(
    "Mapeo de {zone}: mapeadores {mappers}, registros {recorded}, aprobados {approved}, "
    "rechazados {rejected}, por revisar {pending}. Tipos: {covered} de {all}."
)
# After PROGRESS, as many of the zona's active mappers as fit (most items first).
BY_MAPPER = N_("Por mapeador: {lines}.")
MAPPER_LINE = N_("{phone}: {items} (aprobados {approved})")
PIN_MARK = N_(", con ubicación")
PHOTO_MARK = N_(", con foto")

MAX_DESCRIPTION = 80
# A description quoted in a leader's review SMS, at most (septets); shortened further to fit.
REVIEW_FITS = (80, 60, 40, 25, 15)

START_WORDS = frozenset({"mapeo", "mapear", "mapa lurana", "mapa luraña"})
# A mapper's own: leave the role (confirmed), their progress.
_LEAVE = frozenset({"mapeo baja", "baja mapeo", "dejar mapeo"})
_LEAVE_YES = frozenset({"dejar", "si dejar", "jaytaña", "jaytana"})
_LEAVE_NO = frozenset({"seguir", "no seguir", "sarantaña", "sarantana"})
_REGISTER = re.compile(r"^mapeador(?:es)?\s+(alta|baja)\s+(.+)$")
_REVIEW = frozenset({"mapeo revisar", "revisar mapeo", "mapeo revision"})
_PROGRESS = frozenset({"mapeo avance", "avance mapeo", "avance del mapeo"})
# APROBAR N approves as it is (words after N are not read); CORREGIR N and the words correct,
# then approve; RECHAZAR N and a reason reject.
_DECIDE = re.compile(
    r"^\s*(aprobar|corregir|rechazar)\s+(\d{1,9})\b\s*(.*)$", re.IGNORECASE | re.DOTALL
)


def kind_label(kind: str) -> Reply:
    return Reply(KIND_LABELS[kind])


def label_in(kind: str, lang: str) -> str:
    return text_of(kind_label(kind), lang)


# --- shared by the flows, the CLI and the console --------------------------------------------


def _tell(session: Session, resident: Resident | None, replies: list[Reply]) -> bool:
    """One SMS (or WhatsApp within its window) to a resident who still takes our messages."""
    if resident is None or resident.status != ResidentStatus.ACTIVE or not resident.phone:
        return False
    channel = channel_for(resident)
    queue_message(session, resident, render(replies, resident.language, channel), channel=channel)
    return True


def register(
    session: Session, resident: Resident, zone: Zone, registered_by: str, now: datetime
) -> bool:
    """Make a resident of the zona a mapper and send them the welcome; False if they were one."""
    if resident.zone_id != zone.id or resident.status != ResidentStatus.ACTIVE:
        raise store.NotAllowed(f"the resident is not signed up in zona {zone.name}")
    _, new = store.register_mapper(session, resident, zone.id, registered_by, now)
    if new:
        _tell(session, resident, [Reply(WELCOME, {"zone": zone.name})])
    return new


def unregister(session: Session, resident: Resident, zone: Zone, now: datetime) -> bool:
    """The resident is no longer a mapper of the zona (told so); False if they were not one."""
    mapper = store.mapper_of(session, resident.id)
    if mapper is None or mapper.zone_id != zone.id:
        return False
    store.remove_mapper(session, mapper, now)
    _tell(session, resident, [Reply(FAREWELL, {"zone": zone.name})])
    return True


def _fits_info(text: str) -> bool:
    item = Reply(ITEM, {"text": text, "date": "31/12/2026", "n": 10, "total": 10})
    return all(segments(render([item, Reply(MORE_HINT)], lang, "sms")) == 1 for lang in LANGUAGES)


def info_texts(kind: str, description: str) -> tuple[str, str]:
    """The zona information item an approved asset becomes, (Spanish, Aymara): its kind and
    the mapper's words, shortened until a resident reads it in one SMS."""
    for limit in (100, 80, 60, 40, 20):
        words = quote(description, limit)
        es, ay = f"{label_in(kind, 'es')}: {words}", f"{label_in(kind, 'ay')}: {words}"
        if _fits_info(es) and _fits_info(ay):
            break
    return es, ay


def approve(
    session: Session,
    item: MappedItem,
    *,
    reviewer: str,
    now: datetime,
    description: str | None = None,
    note: str | None = None,
) -> InfoItem | Report:
    """Approve (with an edited description, if given) and tell the mapper what it became."""
    words = description if description and description.strip() else item.description or ""
    es, ay = info_texts(item.kind, words) if store.is_asset(item.kind) else ("", None)
    made = store.approve_item(
        session,
        item,
        reviewer=reviewer,
        text_es=es,
        text_ay=ay,
        now=now,
        description=description,
        note=note,
    )
    mapper = session.get(Resident, item.resident_id) if item.resident_id else None
    values: dict[str, object] = {"n": item.id, "kind": kind_label(item.kind)}
    if isinstance(made, Report):
        _tell(session, mapper, [Reply(APPROVED_NEED, {**values, "code": made.code})])
    else:
        _tell(session, mapper, [Reply(APPROVED_ASSET, values)])
    return made


def reject(
    session: Session, item: MappedItem, *, reviewer: str, note: str | None, now: datetime
) -> None:
    """Reject and tell the mapper, with the reviewer's note when there is one."""
    store.reject_item(session, item, reviewer=reviewer, note=note, now=now)
    mapper = session.get(Resident, item.resident_id) if item.resident_id else None
    values: dict[str, object] = {"n": item.id, "kind": kind_label(item.kind)}
    if item.note:
        _tell(session, mapper, [Reply(NOT_APPROVED_NOTE, {**values, "note": quote(item.note, 70)})])
    else:
        _tell(session, mapper, [Reply(NOT_APPROVED, values)])


def progress_lines(session: Session, zone: Zone, lang: str) -> list[Reply]:
    """The zona's figures, then its active mappers (most items first, masked phones) as far
    as they fit the same SMS."""
    found = [(p, m) for m, p in store.mapper_progress(session, [zone.id]) if m.active and p.items]
    found.sort(key=lambda r: (-r[0].items, r[1].id))
    lines = [
        Reply(
            MAPPER_LINE,
            {"phone": "..." + m.resident.phone[-4:], "items": p.items, "approved": p.approved},
        )
        for p, m in found
        if m.resident.phone
    ]
    head = progress_line(session, zone)

    def build(n: int) -> list[Reply]:
        return [head, Reply(BY_MAPPER, {"lines": ListOf(lines[:n])})] if n else [head]

    _, replies = fit_one_sms(lang, range(len(lines), -1, -1), build)
    return replies


def progress_line(session: Session, zone: Zone) -> Reply:
    """The zona's mapping in one SMS: mappers, items and their review, kinds covered."""
    found = store.zone_progress(session, [zone.id]).get(zone.id)
    mappers = sum(1 for m in store.list_mappers(session, [zone.id]) if m.active)
    values = {
        "zone": zone.name,
        "mappers": mappers,
        "recorded": found.items if found else 0,
        "approved": found.approved if found else 0,
        "rejected": found.rejected if found else 0,
        "pending": found.pending if found else 0,
        "covered": found.kinds if found else 0,
        "all": len(MAP_COVERED_KINDS),
    }
    return Reply(PROGRESS, values)


# --- MAPEO, for mappers ------------------------------------------------------------------------


def starts_mapping(turn: Turn) -> bool:
    """The text is MAPEO (or its Aymara form), MAPEO BAJA or MAPEO AVANCE from a signed-up
    resident (a leader's MAPEO AVANCE is theirs: see leader_command)."""
    words = START_WORDS | _LEAVE | _PROGRESS
    return turn.norm in words and turn.resident.onboarded


def _zone(turn: Turn) -> Zone | None:
    mapper = store.mapper_of(turn.session, turn.resident.id)
    return get_zone(turn.session, mapper.zone_id) if mapper is not None else None


def _kinds(kinds: tuple[str, ...], prompt: str) -> Reply:
    listed = ListOf(
        Reply(OPTION, {"n": n, "label": kind_label(kind)}) for n, kind in enumerate(kinds, 1)
    )
    return Reply(prompt, {"kinds": listed})


def begin(turn: Turn) -> StepResult:
    zone = _zone(turn)
    if zone is None:
        return StepResult([Reply(NOT_A_MAPPER)], None, {})
    if turn.norm in _PROGRESS:
        return StepResult([_my_progress(turn, zone)], None, {})
    if turn.norm in _LEAVE:
        return StepResult([Reply(LEAVE_CONFIRM, {"zone": zone.name})], "leave", {})
    return StepResult([Reply(GROUP, {"zone": zone.name})], "group", {})


def _my_progress(turn: Turn, zone: Zone) -> Reply:
    mine = store.resident_progress(turn.session, turn.resident.id)
    values = {
        "zone": zone.name,
        "recorded": mine.items,
        "approved": mine.approved,
        "pending": mine.pending,
        "rejected": mine.rejected,
    }
    return Reply(MY_PROGRESS, values)


def on_leave(turn: Turn) -> StepResult:
    answer = yes_or_no(turn.norm, yes=_LEAVE_YES, no=_LEAVE_NO)
    if answer is None:
        return stay(turn, Reply(LEAVE_AGAIN))
    mapper = store.mapper_of(turn.session, turn.resident.id)
    zone = get_zone(turn.session, mapper.zone_id) if mapper is not None else None
    if mapper is None or zone is None:
        return StepResult([Reply(NOT_A_MAPPER)], None, {})
    if not answer:
        return StepResult([Reply(STAYED, {"zone": zone.name})], None, {})
    store.remove_mapper(turn.session, mapper, turn.now)
    return StepResult([Reply(LEFT, {"zone": zone.name})], None, {})


def _group_prompt(group: str) -> Reply:
    return _kinds(MAP_ASSET_KINDS, ASSETS) if group == "asset" else _kinds(MAP_NEED_KINDS, NEEDS)


def on_group(turn: Turn) -> StepResult:
    extras = _extras_of(turn)
    option = parse_option(turn.text, 2)
    if _brought(turn) and option is None:  # a photo or a pin before the choice: kept
        zone = _zone(turn)
        prompt = Reply(GROUP, {"zone": zone.name if zone else ""})
        return StepResult(_kept(turn, prompt, Reply(GROUP_SHORT)), "group", extras)
    if option == 0 or is_back(turn.norm):
        return StepResult([], None, {}, goto=FlowName.MENU)
    if option is None:
        zone = _zone(turn)
        name = zone.name if zone else ""
        return stay(turn, *_again(turn, Reply(GROUP, {"zone": name})))
    group = "asset" if option == 1 else "need"
    return StepResult([_group_prompt(group)], "kind", {**extras, "group": group})


def _extras_of(turn: Turn) -> dict[str, object]:
    """The pin and photo this item already has, with any this message brings."""
    slots = {k: v for k, v in turn.slots.items() if k in _EXTRAS}
    _take_extras(turn, slots)
    return slots


_EXTRAS = ("media_url", "latitude", "longitude")


def _brought(turn: Turn) -> bool:
    return bool(turn.media) or turn.latitude is not None


def _kept(turn: Turn, prompt: Reply, short: Reply | None = None) -> list[Reply]:
    """Saying the photo or pin is kept, then the prompt again (or, when both do not fit one
    SMS, a shorter one)."""
    kept = Reply(KEPT_PHOTO if turn.media else KEPT_PIN)
    shorter = short or Reply(CHOOSE_ABOVE)
    _, replies = fit_one_sms(turn.lang, [[kept, prompt], [kept, shorter]], list)
    return replies


def _again(turn: Turn, prompt: Reply) -> list[Reply]:
    """A prompt again, saying we did not understand when that still fits one SMS."""
    _, replies = fit_one_sms(turn.lang, [[Reply(NOT_UNDERSTOOD), prompt], [prompt]], list)
    return replies


def on_kind(turn: Turn) -> StepResult:
    group = str(turn.slots.get("group") or "asset")
    kinds = MAP_ASSET_KINDS if group == "asset" else MAP_NEED_KINDS
    extras = _extras_of(turn)
    option = parse_option(turn.text, len(kinds))
    if _brought(turn) and option is None:  # a photo or a pin before the kind: kept
        return StepResult(_kept(turn, _group_prompt(group)), "kind", {**extras, "group": group})
    if option == 0 or is_back(turn.norm):
        back = begin(turn)
        return StepResult(back.replies, back.next_step, extras if back.next_step else {})
    if option is None:
        return stay(turn, *_again(turn, _group_prompt(group)))
    kind = kinds[option - 1]
    prompt = DESCRIBE if group == "asset" else DESCRIBE_NEED
    ask = Reply(prompt, {"kind": kind_label(kind), "max": MAX_DESCRIPTION})
    return StepResult([ask], "description", {**extras, "group": group, "kind": kind})


def _take_extras(turn: Turn, slots: dict[str, object]) -> None:
    if turn.media:
        slots["media_url"] = turn.media[0]
    if turn.latitude is not None and turn.longitude is not None:
        slots["latitude"], slots["longitude"] = turn.latitude, turn.longitude


def on_description(turn: Turn) -> StepResult:
    slots = {k: v for k, v in turn.slots.items() if k != "_misses"}
    _take_extras(turn, slots)  # a photo with a caption, or a pin sent first: kept
    text = " ".join(turn.text.split())
    kept = [Reply(KEPT_PHOTO if turn.media else KEPT_PIN)] if _brought(turn) else []
    if not describes(text):
        return StepResult([*kept, Reply(DESCRIBE_AGAIN)], "description", slots, miss=not kept)
    if len(text) > MAX_DESCRIPTION:
        # Only the words are asked again: the photo or pin that came with them stays.
        too_long = Reply(DESCRIPTION_TOO_LONG, {"max": MAX_DESCRIPTION})
        return StepResult([*kept, too_long], "description", slots, miss=not kept)
    slots["description"] = text
    if turn.channel == "whatsapp":
        return _ask_extras(turn, slots)
    return _summary(turn, slots)


def _ask_extras(turn: Turn, slots: dict[str, object]) -> StepResult:
    pin, photo = slots.get("latitude") is not None, bool(slots.get("media_url"))
    if pin and photo:
        return _summary(turn, slots)
    prompt = GOT_PIN if pin else GOT_PHOTO if photo else PIN_AND_PHOTO
    return StepResult([Reply(prompt)], "extras", slots)


def on_extras(turn: Turn) -> StepResult:
    slots = {k: v for k, v in turn.slots.items() if k != "_misses"}
    if turn.media or turn.latitude is not None:
        _take_extras(turn, slots)
        return _ask_extras(turn, slots)
    if parse_option(turn.text, 0) == 0:
        return _summary(turn, slots)
    return stay(turn, *_ask_extras(turn, slots).replies)


def _summary(turn: Turn, slots: dict[str, object]) -> StepResult:
    zone = _zone(turn)
    pin, photo = slots.get("latitude") is not None, bool(slots.get("media_url"))
    extras = WITH_BOTH if pin and photo else WITH_PIN if pin else WITH_PHOTO if photo else None
    base = {
        "kind": kind_label(str(slots["kind"])),
        "zone": zone.name if zone else "",
    }

    def build(limit: int) -> list[Reply]:
        values = {**base, "description": quote(str(slots.get("description", "")), limit)}
        if extras is None:
            return [Reply(SUMMARY, values)]
        return [Reply(SUMMARY_EXTRAS, {**values, "extras": Reply(extras)})]

    _, replies = fit_one_sms(turn.lang, (80, 60, 40, 25), build)
    return StepResult(replies, "confirm", slots)


def on_confirm(turn: Turn) -> StepResult:
    if _brought(turn) and turn.channel == "whatsapp":  # a late pin or photo: kept, summed up
        slots = {k: v for k, v in turn.slots.items() if k != "_misses"}
        return _summary(turn, {**slots, **_extras_of(turn)})
    answer = yes_or_no(turn.norm, yes=SEND, no=DONT_SEND)
    if answer is None:
        return stay(turn, Reply(CONFIRM_AGAIN))
    if not answer:
        return StepResult([Reply(NOT_RECORDED)], None, {})
    mapper = store.mapper_of(turn.session, turn.resident.id)
    if mapper is None:  # removed while they were typing
        return StepResult([Reply(NOT_ANY_MORE)], None, {})
    slots = turn.slots
    item = store.record_item(
        turn.session,
        mapper,
        str(slots["kind"]),
        str(slots.get("description") or ""),
        latitude=slots.get("latitude"),
        longitude=slots.get("longitude"),
        media_url=slots.get("media_url"),
        channel=turn.channel,
        now=turn.now,
    )
    return StepResult([Reply(RECORDED, {"n": item.id})], None, {})


FLOW = Flow(
    name=FlowName.MAPPING,
    begin=begin,
    steps={
        "group": on_group,
        "kind": on_kind,
        "description": on_description,
        "extras": on_extras,
        "confirm": on_confirm,
        "leave": on_leave,
    },
)


# --- leaders: MAPEADOR ALTA/BAJA, MAPEO REVISAR, APROBAR N, RECHAZAR N, MAPEO AVANCE -----------


def _leader(turn: Turn) -> tuple[Leader, Zone] | None:
    return leading(turn.session, turn.resident.phone)


def leader_command(turn: Turn) -> str | None:
    """The leaders' mapping flow, when a leader's text is one of its commands."""
    norm = turn.norm
    if norm in START_WORDS:  # a leader who maps nothing: what they can do instead
        if _leader(turn) is None or store.mapper_of(turn.session, turn.resident.id) is not None:
            return None
        return FlowName.LEADER_MAPPING
    # APROBAR N / RECHAZAR N answer the offers listed by OFERTAS while that list is open (N is
    # the offer's place in it); otherwise they decide a mapped item (N is its number).
    conv = turn.conversation
    deciding_offers = conv.flow == FlowName.LEADER_OFFERS and bool(conv.step)
    decides = _DECIDE.match(turn.text) is not None and not deciding_offers
    if not (_REGISTER.match(norm) or norm in _REVIEW or norm in _PROGRESS or decides):
        return None
    return FlowName.LEADER_MAPPING if _leader(turn) is not None else None


def begin_leader(turn: Turn) -> StepResult:
    found = _leader(turn)
    if found is None:
        return StepResult([Reply(NOT_A_LEADER)], None, {})
    leader, zone = found
    if turn.norm in START_WORDS:
        return StepResult([Reply(LEADER_MAPPING, {"zone": zone.name})], "help", {})
    registering = _REGISTER.match(turn.norm)
    if registering:
        return _register(turn, leader, zone, registering.group(1), registering.group(2))
    if turn.norm in _REVIEW:
        return _review(turn, zone, 0)
    if turn.norm in _PROGRESS:
        return StepResult(progress_lines(turn.session, zone, turn.lang), None, {})
    deciding = _DECIDE.match(turn.text)
    assert deciding is not None  # leader_command matched one of the four
    return _decide(turn, zone, normalize(deciding.group(1)), int(deciding.group(2)), deciding[3])


def _local(phone: str) -> str:
    return phone[4:] if phone.startswith("+591") else phone


def _register(turn: Turn, leader: Leader, zone: Zone, verb: str, raw: str) -> StepResult:
    try:
        phone, _ = parse_address(raw.replace(" ", ""))
    except ValueError:
        return StepResult([Reply(BAD_PHONE)], None, {})
    shown = _local(phone)
    resident = store.resident_by_phone(turn.session, phone)
    if verb == "baja":
        if resident is None or not unregister(turn.session, resident, zone, turn.now):
            return StepResult([Reply(NOT_A_MAPPER_THERE, {"phone": shown, "zone": zone.name})])
        return StepResult([Reply(MAPPER_REMOVED, {"phone": shown, "zone": zone.name})])
    if resident is None or resident.zone_id != zone.id or not resident.onboarded:
        return StepResult([Reply(NOT_A_RESIDENT, {"phone": shown, "zone": zone.name})])
    try:
        new = register(turn.session, resident, zone, f"leader:{leader.id}", turn.now)
    except store.NotAllowed:
        return StepResult([Reply(NOT_A_RESIDENT, {"phone": shown, "zone": zone.name})])
    text = MAPPER_ADDED if new else MAPPER_ALREADY
    return StepResult([Reply(text, {"phone": shown, "zone": zone.name})])


def _review(turn: Turn, zone: Zone, offset: int) -> StepResult:
    """The pending item at `offset` (oldest first) in one SMS; MAS shows the next."""
    pending = store.items(turn.session, [zone.id], "pending", offset=offset, limit=2)
    if not pending:
        return StepResult([Reply(NOTHING_TO_REVIEW, {"zone": zone.name})], None, {})
    item = pending[0]
    left = store.count_pending(turn.session, [zone.id])
    extras = (
        PIN_MARK if item.latitude is not None else None,
        PHOTO_MARK if item.media_url else None,
    )
    more = [Reply(MORE_TO_REVIEW)] if len(pending) > 1 else []

    def build(limit: int) -> list[Reply]:
        marks = "".join(text_of(Reply(mark), turn.lang) for mark in extras if mark)
        values = {
            "left": left,
            "n": item.id,
            "kind": kind_label(item.kind),
            "description": quote(item.description or "", limit),
            "extras": marks,
        }
        return [Reply(TO_REVIEW, values), *more]

    _, replies = fit_one_sms(turn.lang, REVIEW_FITS, build)
    return StepResult(replies, "more", {"offset": offset + 1})


def _decide(turn: Turn, zone: Zone, verb: str, number: int, rest: str) -> StepResult:
    item = turn.session.get(MappedItem, number)
    if item is None or item.zone_id != zone.id or item.status != "pending":
        return StepResult([Reply(NO_SUCH_ITEM, {"n": number, "zone": zone.name})])
    reviewer = f"leader:{_leader_id(turn)}"
    words = " ".join(rest.split())
    if verb == "corregir" and not has_words(words):
        example = quote(item.description or "", 40)
        return StepResult([Reply(CORRECT_HOW, {"n": number, "description": example})])
    if verb in ("aprobar", "corregir"):
        corrected = words if verb == "corregir" else None
        made = approve(turn.session, item, reviewer=reviewer, now=turn.now, description=corrected)
        left = store.count_pending(turn.session, [zone.id])
        if isinstance(made, Report):
            reply = Reply(LEADER_APPROVED_NEED, {"n": number, "code": made.code, "left": left})
        else:
            reply = Reply(LEADER_APPROVED_ASSET, {"n": number, "zone": zone.name, "left": left})
        return StepResult([reply])
    reject(turn.session, item, reviewer=reviewer, note=words or None, now=turn.now)
    left = store.count_pending(turn.session, [zone.id])
    return StepResult([Reply(LEADER_REJECTED, {"n": number, "left": left})])


def _leader_id(turn: Turn) -> int:
    found = _leader(turn)
    return found[0].id if found else 0


def on_more(turn: Turn) -> StepResult:
    found = _leader(turn)
    if is_more(turn.norm) and found is not None:
        return _review(turn, found[1], int(turn.slots.get("offset", 1)))
    if not turn.resident.onboarded:
        return StepResult([], None, {}, goto=FlowName.ONBOARDING)
    return on_choose(turn)  # anything else is read as a menu choice


def on_help(turn: Turn) -> StepResult:
    """MAS after a leader's MAPEO: how to review; anything else is read as a menu choice."""
    if is_more(turn.norm) and _leader(turn) is not None:
        return StepResult([Reply(LEADER_REVIEW_HELP)], None, {})
    return on_more(turn)


LEADER_FLOW = Flow(
    name=FlowName.LEADER_MAPPING,
    begin=begin_leader,
    steps={"more": on_more, "help": on_help},
)
