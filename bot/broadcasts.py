"""What a broadcast says to each resident: the sender's words inside a frame in their language.

Shared by the worker (sending), the staff CLI (cost estimate) and the leaders' flows (preview),
so a preview is exactly what residents get.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot import channels
from bot.flows import polls as poll_flow
from bot.flows.base import Reply
from bot.i18n import LANGUAGES, N_, in_language
from bot.render import render
from storage.broadcasts import audience_languages
from storage.models import Broadcast, Poll

ANNOUNCEMENT = N_("Alcaldía de La Paz informa: {text}")
NOTICE = N_("Aviso de su dirigente de {zone}: {text}")
NOTICE_NO_ZONE = N_("Aviso de su dirigente vecinal: {text}")
NEWS = N_("Noticias de su barrio: {text}")
POLL = N_("Encuesta: {question} {options}. Responda con el número.")
# Added only when it fits in the segments the message already costs.
OPT_OUT_HINT = N_("BAJA: no recibir más.")


@dataclass(frozen=True)
class Content:
    """The parts of a broadcast its text depends on (loaded once per job, not per resident)."""

    kind: str
    text_es: str
    text_ay: str | None
    zone: str | None = None  # a leader's zona, for notices
    poll: Poll | None = None

    @classmethod
    def of(cls, broadcast: Broadcast) -> Content:
        zones = broadcast.zones
        return cls(
            kind=broadcast.kind,
            text_es=broadcast.text_es,
            text_ay=broadcast.text_ay,
            zone=zones[0].name if len(zones) == 1 else None,
            poll=broadcast.poll,
        )

    def words(self, language: str) -> str:
        return in_language(language, self.text_es, self.text_ay)


def framed(content: Content, language: str) -> Reply:
    """The broadcast as one reply, its frame in the resident's language."""
    text = content.words(language)
    if content.kind == "poll" and content.poll is not None:
        options = ", ".join(
            f"{i} {poll_flow.option_label(o, language)}"
            for i, o in enumerate(content.poll.options, start=1)
        )
        return Reply(POLL, {"question": text, "options": options})
    if content.kind == "notice":
        if content.zone:
            return Reply(NOTICE, {"zone": content.zone, "text": text})
        return Reply(NOTICE_NO_ZONE, {"text": text})
    if content.kind == "news":
        return Reply(NEWS, {"text": text})
    return Reply(ANNOUNCEMENT, {"text": text})


def render_broadcast(
    content: Content, language: str | None, channel: str, *, fold: bool = True
) -> str:
    """The message one resident receives (same language and channel: same text)."""
    lang = language if language in LANGUAGES else "es"
    body = render([framed(content, lang)], lang, channel, fold=fold)
    with_hint = render([framed(content, lang), Reply(OPT_OUT_HINT)], lang, channel, fold=fold)
    if channel != "sms" or channels.segments(with_hint) <= channels.segments(body):
        return with_hint
    return body


@dataclass(frozen=True)
class Cost:
    recipients: int
    sms: int  # SMS segments if every recipient got an SMS (WhatsApp ones cost less)
    segments_by_language: dict[str, int]
    recipients_by_language: dict[str, int]


def estimate(session: Session, broadcast: Broadcast, *, fold: bool = True) -> Cost:
    """What a broadcast will cost, counted before anything is sent."""
    by_language = audience_languages(session, broadcast)
    content = Content.of(broadcast)
    per_message = {
        lang: channels.segments(render_broadcast(content, lang, "sms", fold=fold))
        for lang in LANGUAGES
    }
    total = sum(n * per_message.get(lang, per_message["es"]) for lang, n in by_language.items())
    return Cost(sum(by_language.values()), total, per_message, by_language)
