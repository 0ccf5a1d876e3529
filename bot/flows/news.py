"""News: the latest item for the resident's zona and the city, one SMS each, MAS for older ones."""

from __future__ import annotations

from bot.flows.answers import is_more
from bot.flows.base import Flow, FlowName, StepResult, Turn
from bot.flows.menu import on_choose
from bot.i18n import N_, in_language
from bot.render import Reply
from storage.news import news_for

NO_NEWS = N_("No hay noticias para su zona todavía.")
NO_MORE = N_("No hay más noticias.")
MORE_HINT = N_("MAS: la anterior")
ITEM = N_("{text}")  # a news item as written, in the resident's language


def _item(turn: Turn, offset: int) -> StepResult | None:
    items = news_for(turn.session, turn.resident.zone_id, offset=offset, limit=2)
    if not items:
        return None
    item = items[0]
    text = in_language(turn.lang, item.text_es, item.text_ay)
    replies = [Reply(ITEM, {"text": text})]
    if len(items) > 1:
        replies.append(Reply(MORE_HINT))
    # Stay on "more" even after the last item, so a MAS then gets a clear answer.
    return StepResult(replies, "more", {"offset": offset + 1})


def begin(turn: Turn) -> StepResult:
    return _item(turn, 0) or StepResult([Reply(NO_NEWS)], None, {}, goto=FlowName.MENU)


def on_more(turn: Turn) -> StepResult:
    if is_more(turn.norm):
        return _item(turn, int(turn.slots.get("offset", 1))) or StepResult(
            [Reply(NO_MORE)], None, {}, goto=FlowName.MENU
        )
    # Anything else leaves the news: it is read as a menu choice.
    return on_choose(turn)


FLOW = Flow(name=FlowName.NEWS, begin=begin, steps={"more": on_more})
