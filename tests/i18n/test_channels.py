"""What an outbound message costs in SMS segments, how it is rendered, who it goes to."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels import (
    GSM7_BASIC,
    GSM7_EXTENDED,
    address_for,
    encoding,
    fold_gsm7,
    is_gsm7,
    parse_address,
    quote,
    render,
    segments,
)
from tests.helpers import DATA

# Inbound webhooks as Twilio posts them (made-up SIDs), kept beside the tests.
SAMPLES_PATH = DATA / "webhook-samples.json"
EMOJI = "\U0001f600"  # 😀, outside the BMP: a surrogate pair in UTF-16

# A realistic 100-character Spanish notice, all GSM-7.
SPANISH_100 = (
    "Vecinos de San Sebastian: el corte de agua sera el martes de 9 a 13 horas. "
    "Gracias por su paciencia!"
)


def test_spanish_sample_is_100_gsm7_chars() -> None:
    assert len(SPANISH_100) == 100
    assert is_gsm7(SPANISH_100)


# --- Alphabet ---------------------------------------------------------------------------------


def test_gsm7_tables_have_the_03_38_sizes() -> None:
    assert len(GSM7_BASIC) == 127  # 128 code points minus the escape
    assert GSM7_EXTENDED == frozenset("\f^{}\\[~]|€")
    assert not GSM7_BASIC & GSM7_EXTENDED


@pytest.mark.parametrize("ch", list("éÉñÑüÜäÄöÖàèìòùÇ¿¡'@£$¥_\n\r"))
def test_characters_gsm7_has(ch: str) -> None:
    assert is_gsm7(ch)
    assert encoding(f"Hola {ch}") == "GSM-7"


@pytest.mark.parametrize("ch", list("áíóúÁÍÓÚïÏ’‘ʼ`ç") + [EMOJI, "中", "\u00a0"])
def test_characters_gsm7_lacks(ch: str) -> None:
    assert not is_gsm7(ch)
    assert encoding(f"Hola {ch}") == "UCS-2"


# --- Segment counting -------------------------------------------------------------------------


def test_empty_body_is_billed_as_one_segment() -> None:
    assert segments("") == 1


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_boundaries(length: int, expected: int) -> None:
    assert segments("a" * length) == expected


@pytest.mark.parametrize(
    ("length", "expected"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3)],
)
def test_ucs2_boundaries(length: int, expected: int) -> None:
    assert segments("á" * length) == expected


def test_one_accent_doubles_the_cost_of_a_spanish_text_and_folding_restores_it() -> None:
    text = SPANISH_100.replace("sera", "será")
    assert segments(SPANISH_100) == 1
    assert segments(text) == 2
    folded = fold_gsm7(text)
    assert folded == SPANISH_100
    assert segments(folded) == 1


def test_extension_characters_cost_two_septets() -> None:
    assert segments("€" * 80) == 1  # 160 septets
    assert segments("€" * 81) == 2  # 162 septets
    assert segments("a" * 159 + "[") == 2
    assert segments("a" * 158 + "[") == 1


def test_escape_pair_is_not_split_across_segments() -> None:
    # 306 septets would fit two segments of 153 exactly, but the € straddles the boundary.
    text = "a" * 152 + "€" + "a" * 152
    assert segments(text) == 3
    assert segments("a" * 151 + "€" + "a" * 153) == 2


def test_emoji_costs_two_ucs2_units() -> None:
    assert segments(EMOJI * 35) == 1  # 70 units
    assert segments(EMOJI * 36) == 2  # 72 units
    assert segments("a" * 69 + EMOJI) == 2  # 71 units, not 70 characters


def test_surrogate_pair_is_not_split_across_segments() -> None:
    text = "a" * 66 + EMOJI + "a" * 66  # 134 units: two parts only if the emoji were cut in two
    assert segments(text) == 3
    assert segments("a" * 65 + EMOJI + "a" * 67) == 2


# --- Folding ----------------------------------------------------------------------------------


def test_fold_removes_accents_gsm7_lacks() -> None:
    assert fold_gsm7("áíóú ÁÍÓÚ ïÏ âêîôû") == "aiou AIOU iI aeiou"


def test_fold_keeps_what_gsm7_has() -> None:
    text = "¿Qué pasó en el año? ¡Pingüino! É Ñ Ä Ö ä ö à è ì ò ù Ç"
    assert fold_gsm7(text) == "¿Qué paso en el año? ¡Pingüino! É Ñ Ä Ö ä ö à è ì ò ù Ç"


def test_fold_typography() -> None:
    assert fold_gsm7("‘a’ ʼb´ `c` “d” «e» f–g—h−i j…") == "'a' 'b' 'c' \"d\" \"e\" f-g-h-i j..."
    assert fold_gsm7("a\u00a0b\u202fc\u2009d") == "a b c d"
    assert fold_gsm7("zero\u200bwidth\ufeff") == "zerowidth"


def test_fold_keeps_as_many_accents_as_gsm7_allows() -> None:
    assert fold_gsm7("\u01d8") == "ü"  # ǘ: u + diaeresis + acute -> ü, not u
    assert fold_gsm7("o\u0301") == "o"  # decomposed ó
    assert fold_gsm7("e\u0301") == "é"  # decomposed é is GSM-7 once composed


def test_aymara_with_diaeresis_n_tilde_and_apostrophe_stays_gsm7() -> None:
    text = "Yatiyäwinaka: jark'aña, ñanqha"
    assert is_gsm7(text)
    assert fold_gsm7(text) == text
    assert render(text, "sms") == text


def test_aymara_with_i_diaeresis_and_curly_apostrophe_folds_to_gsm7() -> None:
    text = "Jïsa, jark’aña"
    assert encoding(text) == "UCS-2"
    assert render(text, "sms") == "Jisa, jark'aña"
    assert encoding(render(text, "sms")) == "GSM-7"


def test_fold_never_drops_emoji_or_cjk() -> None:
    assert fold_gsm7("Gracias 🙏 á") == "Gracias 🙏 a"
    assert fold_gsm7("La Paz 中") == "La Paz 中"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert fold_gsm7(f"{family} hola") == f"{family} hola"  # the joiners hold the emoji together
    keycap = "2\ufe0f\u20e3"
    assert fold_gsm7(f"Opción {keycap}") == f"Opcion {keycap}"


def test_ellipsis_expands_only_when_it_does_not_cost_more() -> None:
    assert fold_gsm7("Espere…") == "Espere..."
    many = "…" * 70  # 1 UCS-2 segment; as "..." it would be 210 septets = 2 segments
    assert segments(fold_gsm7(many)) == 1
    with_emoji = "a" * 67 + EMOJI + "…"  # 70 units: stays UCS-2, "..." would make it 72
    assert segments(fold_gsm7(with_emoji)) == 1


# --- Rendering --------------------------------------------------------------------------------


def test_render_sms_folds() -> None:
    assert render("Información “útil”", "sms") == 'Informacion "util"'


def test_render_sms_without_fold_is_unchanged() -> None:
    assert render("Información “útil”", "sms", fold=False) == "Información “útil”"


@pytest.mark.parametrize("text", ["Información “útil”…", "Jïsa ’", "Hola 🙏 ó", "\u00a0x"])
def test_whatsapp_text_is_never_folded(text: str) -> None:
    assert render(text, "whatsapp") == text
    assert render(text, "whatsapp", fold=True) == text


def test_render_rejects_unknown_channel() -> None:
    with pytest.raises(ValueError):
        render("hola", "telegram")  # type: ignore[arg-type]


# --- Addressing -------------------------------------------------------------------------------


def _webhook_samples() -> list[tuple[str, dict[str, str]]]:
    data = json.loads(SAMPLES_PATH.read_text(encoding="utf-8"))
    return [(name, fields) for name, fields in data.items() if "From" in fields]


@pytest.mark.parametrize(("name", "fields"), _webhook_samples())
def test_parse_address_on_twilio_webhook_samples(name: str, fields: dict[str, str]) -> None:
    expected_channel = "whatsapp" if fields["From"].startswith("whatsapp:") else "sms"
    for key in ("From", "To"):
        phone, channel = parse_address(fields[key])
        assert channel == expected_channel
        assert phone.startswith("+591")
        assert address_for(phone, channel) == fields[key]
    if "WaId" in fields:
        assert parse_address(fields["From"])[0] == "+" + fields["WaId"]


def test_webhook_samples_cover_both_channels() -> None:
    channels = {parse_address(f["From"])[1] for _, f in _webhook_samples()}
    assert channels == {"sms", "whatsapp"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("whatsapp:+59171234567", ("+59171234567", "whatsapp")),
        ("+59171234567", ("+59171234567", "sms")),
        ("  +59171234567\n", ("+59171234567", "sms")),
        ("WhatsApp:+59171234567", ("+59171234567", "whatsapp")),
        (" WHATSAPP: +59171234567 ", ("+59171234567", "whatsapp")),
        ("71234567", ("+59171234567", "sms")),
        ("whatsapp:71234567", ("+59171234567", "whatsapp")),
        ("+591 7123-4567", ("+59171234567", "sms")),
        ("22000000", ("+59122000000", "sms")),  # La Paz landline
        ("+15005550006", ("+15005550006", "sms")),  # Twilio's magic test number
    ],
)
def test_parse_address(raw: str, expected: tuple[str, str]) -> None:
    assert parse_address(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "hola", "whatsapp:", "whatsapp:hola", "12", "hola 71234567", "+", "sms:+591"]
)
def test_parse_address_rejects_garbage(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_address(raw)


def test_address_for() -> None:
    assert address_for("+59171234567", "whatsapp") == "whatsapp:+59171234567"
    assert address_for("+59171234567", "sms") == "+59171234567"
    assert address_for("71234567", "sms") == "+59171234567"


@pytest.mark.parametrize(
    ("phone", "channel"),
    [("whatsapp:+59171234567", "sms"), ("hola", "sms"), ("+59171234567", "telegram")],
)
def test_address_for_rejects_bad_input(phone: str, channel: str) -> None:
    with pytest.raises(ValueError):
        address_for(phone, channel)  # type: ignore[arg-type]


# --- Properties -------------------------------------------------------------------------------


@given(st.text())
def test_folding_never_costs_more_segments(text: str) -> None:
    assert segments(fold_gsm7(text)) <= segments(text)


@given(st.text())
def test_folding_is_stable(text: str) -> None:
    once = fold_gsm7(text)
    assert fold_gsm7(once) == once


@given(st.text())
def test_folding_keeps_every_symbol_it_cannot_replace(text: str) -> None:
    def symbols(s: str) -> Counter[str]:
        # Emoji and other symbols, CJK and other scripts' letters (ª and º are Latin: they fold).
        return Counter(
            ch for ch in s if unicodedata.category(ch) in ("So", "Lo") and ch not in "ªº"
        )

    before = symbols(text)
    after = symbols(fold_gsm7(text))
    assert after == before


LATIN1_LETTERS = [chr(c) for c in range(0xC0, 0x100) if chr(c) not in "×÷"]


@given(st.text(alphabet=st.sampled_from(LATIN1_LETTERS + list("abcXYZ ,.?!'"))))
def test_sms_render_of_latin1_letters_is_gsm7(text: str) -> None:
    rendered = render(text, "sms")
    assert is_gsm7(rendered)
    assert len(rendered) >= len(text)  # letters are replaced, never dropped


@given(st.text())
def test_whatsapp_render_is_identity(text: str) -> None:
    assert render(text, "whatsapp") == text


@given(
    st.text(
        alphabet=st.characters(max_codepoint=0x024F) | st.sampled_from("’‘“”–—…\u00a0"), max_size=60
    )
)
def test_fast_fold_matches_the_character_cluster_walk(text: str) -> None:
    """fold_gsm7's translate-table shortcut gives exactly what the full cluster walk gives."""
    from bot.channels import _fold

    full = _fold(text, expand=True)
    expected = full if is_gsm7(full) and segments(full) <= segments(text) else _fold(text, False)
    assert fold_gsm7(text) == (text if is_gsm7(text) else expected)


def test_quote_keeps_short_text_and_cuts_long_text_within_the_limit() -> None:
    assert quote("Calle Murillo", 25) == "Calle Murillo"
    cut = quote("Hay un bache enorme frente a la escuela", 20)
    assert cut == "Hay un bache enor..." and len(cut) <= 20
    assert quote("Hay un bache      enorme", 16) == "Hay un bache..."  # no space before ...
    assert quote("frente\na la\tplaza", 25) == "frente a la plaza"  # one line


def test_quote_keeps_accents_and_leaves_out_what_gsm7_cannot_carry() -> None:
    assert quote("Jach'a uta, plaza Ñuñoa: Sebastián", 40) == "Jach'a uta, plaza Ñuñoa: Sebastián"
    assert quote("frente a la tienda " + EMOJI + " “Doña Ana”", 40) == (
        "frente a la tienda “Doña Ana”"
    )
    assert quote("안녕 水 \x18calle", 25) == "calle"


def test_quote_counts_what_a_character_costs_once_folded() -> None:
    cut = quote("[" * 30, 20)  # each [ is an extension character: 2 septets
    assert cut == "[" * 8 + "..."
    assert quote("a…b", 5) == "a…b"  # … folds to ... : 5 septets
    assert quote("a…bc", 5) == "a..."


def _septets_of(text: str) -> int:
    return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)


@given(st.text(), st.integers(min_value=5, max_value=200))
def test_a_quote_never_makes_an_sms_ucs2_nor_outgrows_its_budget(text: str, limit: int) -> None:
    folded = fold_gsm7(quote(text, limit))
    assert is_gsm7(folded)
    assert _septets_of(folded) <= limit
