"""`mibarrio chat`: talk to the bot from a terminal, through the same turn as the webhook.

On WhatsApp a line may carry what a phone would attach: `/ubicacion -16.51 -68.12` sends a
location pin, `/foto URL [caption]` a photo with its caption as the text.
"""

from __future__ import annotations

import json
import re
import sys
import uuid

import click

from bot import channels
from bot.commands.common import open_database
from bot.config import Config
from bot.engine import InboundMessage
from bot.inbound import TurnSettings, receive

_PIN = re.compile(r"^/ubicacion\s+(-?\d+(?:\.\d+)?)[\s,]+(-?\d+(?:\.\d+)?)\s*$")
_PHOTO = re.compile(r"^/foto\s+(\S+)\s*(.*)$")


def _message(phone: str, channel: str, text: str) -> InboundMessage:
    """The line as the webhook would see it: a pin or a photo on WhatsApp, else plain text."""
    pin, photo = _PIN.match(text), _PHOTO.match(text)
    if channel == "whatsapp" and pin:
        latitude, longitude = float(pin[1]), float(pin[2])
        return InboundMessage(phone, channel, "", latitude=latitude, longitude=longitude)
    if channel == "whatsapp" and photo:
        return InboundMessage(phone, channel, photo[2], media=[photo[1]])
    return InboundMessage(phone=phone, channel=channel, body=text)


@click.command()
@click.option("--phone", required=True, help="The resident's number, E.164 (+5917...).")
@click.option("--channel", type=click.Choice(["sms", "whatsapp"]), default="sms", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON line per input.")
def chat(phone: str, channel: str, as_json: bool) -> None:
    """Talk to the bot from the terminal: stdin lines in, the bot's replies out.

    On WhatsApp, `/ubicacion LAT LON` sends a location pin and `/foto URL [caption]` a photo.
    """
    try:
        phone, _ = channels.parse_address(phone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--phone") from exc
    config = Config.from_env()
    sessions = open_database(config)[1]
    settings = TurnSettings.of(config)
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        msg = _message(phone, channel, text)
        sid = "CH" + uuid.uuid4().hex
        replies = receive(sessions, sid, msg, settings)
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "input": text,
                        "replies": replies,
                        "segments": [channels.segments(r) for r in replies]
                        if channel == "sms"
                        else [1 for _ in replies],
                    },
                    ensure_ascii=False,
                )
            )
        else:
            for reply in replies:
                click.echo(f"< {reply}")
