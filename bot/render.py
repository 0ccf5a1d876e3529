"""The one place replies become text: the resident's language, then the channel (GSM-7 on SMS)."""

from __future__ import annotations

from typing import Any

from bot import channels, i18n
from bot.flows.base import ListOf, Reply


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
