"""Replies and the one place they become text: the resident's language, then the channel.

Flows return Reply values (a message id and its variables); the webhook's answers, the outbox's
messages and broadcasts are all rendered here, so a preview is exactly what is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import channels, i18n


@dataclass(frozen=True)
class Reply:
    """A message id and its variables; rendered later in the resident's language and channel.

    bilingual=True renders the Spanish and the Aymara text one under the other, for residents
    whose language we do not know yet.
    """

    msgid: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    bilingual: bool = False


class ListOf(list[Reply]):
    """A variable made of several replies, rendered and joined with '; ' inside a message."""


def text_of(reply: Reply, language: str | None) -> str:
    """One reply in one language, its variables rendered too (labels inside messages)."""
    values: dict[str, Any] = {}
    for name, value in reply.vars.items():
        if isinstance(value, ListOf):
            values[name] = "; ".join(text_of(item, language) for item in value)
        elif isinstance(value, Reply):
            values[name] = text_of(value, language)
        else:
            values[name] = value
    return i18n.t(language, reply.msgid, values)


def render(replies: list[Reply], language: str | None, channel: str, *, fold: bool = True) -> str:
    """All of one turn's replies as one message, in the resident's language and channel."""
    parts = []
    for reply in replies:
        if reply.bilingual:
            parts.append("\n".join(text_of(reply, lang) for lang in i18n.LANGUAGES))
        else:
            parts.append(text_of(reply, language))
    return channels.render("\n".join(parts), channel, fold=fold)  # type: ignore[arg-type]
