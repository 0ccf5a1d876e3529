"""What a resident's reply is taken to mean: normalised text and chosen option."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text import NUMBER_WORDS, normalize, parse_option, strip_accents

# --- strip_accents ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Menú", "Menu"),
        ("ñandú", "nandu"),
        ("Yatiyäwi", "Yatiyawi"),
        ("pingüino", "pinguino"),
        ("jark'aña", "jark'ana"),
        ("o\u0301", "o"),  # decomposed input
        ("San Sebastián 🙏", "San Sebastian 🙏"),
    ],
)
def test_strip_accents(text: str, expected: str) -> None:
    assert strip_accents(text) == expected


# --- normalize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  ¡BAJA!  ", "baja"),
        ("Menú.", "menu"),
        ("MENÚ", "menu"),
        ("Sopocachi   Alto", "sopocachi alto"),
        ("Sopocachi\t\nAlto", "sopocachi alto"),
        ("jark'aña", "jark'ana"),
        ("Jark’aña", "jark'ana"),
        ("jarkʼaña", "jark'ana"),
        ("jark´aña", "jark'ana"),
        ("jark`aña", "jark'ana"),
        ("jark′aña", "jark'ana"),
        ("'Kamisaraki'", "kamisaraki"),
        ('"Waliki"', "waliki"),
        ("*ayuda*", "ayuda"),
        ("- alto -", "alto"),
        ("¿Qué?", "que"),
        ("Stop;", "stop"),
        ("¡¡¡Yanapa!!!", "yanapa"),
        ("in\u200bicio", "inicio"),
        ("ba\x00ja", "baja"),
        ("\ufeffmenu", "menu"),
        ("Calle 3, Nº 45", "calle 3, nº 45"),
        ("", ""),
        ("  ...  ", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_normalize_makes_equivalent_spellings_equal() -> None:
    variants = ["Sí", "si", "SI", "Si.", " sí!", "s\u00ed", "si\u0301"]
    assert {normalize(v) for v in variants} == {"si"}


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text())
def test_normalize_output_is_trimmed_lowercase_single_spaced(text: str) -> None:
    out = normalize(text)
    assert out == out.strip()
    assert "  " not in out
    assert out == out.casefold()
    assert "’" not in out


# --- NUMBER_WORDS -----------------------------------------------------------------------------


def test_number_words_are_normalised() -> None:
    for word in NUMBER_WORDS:
        assert normalize(word) == word


def test_number_words_cover_zero_to_ten_in_spanish() -> None:
    spanish = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]
    assert [NUMBER_WORDS[w] for w in [*spanish, "diez"]] == list(range(11))
    assert NUMBER_WORDS["una"] == 1


def test_number_words_cover_one_to_ten_in_aymara() -> None:
    aymara = [
        "maya", "paya", "kimsa", "pusi", "phisqa",
        "suxta", "paqallqu", "kimsaqallqu", "llatunka", "tunka",
    ]  # fmt: skip
    assert [NUMBER_WORDS[w] for w in aymara] == list(range(1, 11))
    assert NUMBER_WORDS["ma"] == 1
    assert NUMBER_WORDS["pa"] == 2


@pytest.mark.parametrize("word", ["jani", "janiwa", "jisa", "iyawa", "si", "no"])
def test_yes_no_words_are_not_numbers(word: str) -> None:
    assert word not in NUMBER_WORDS
    assert parse_option(word) is None


# --- parse_option -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        (" 2 ", 2),
        ("2.", 2),
        ("#2", 2),
        ("3)", 3),
        ("(3)", 3),
        ("*4*", 4),
        ("0", 0),
        ("02", 2),
        ("opcion 2", 2),
        ("Opción 2", 2),
        ("opción: 2", 2),
        ("opcion #2", 2),
        ("la 2", 2),
        ("opción dos", 2),
        ("uno", 1),
        ("Una", 1),
        ("cero", 0),
        ("DIEZ", 10),
        ("Maya", 1),
        ("mä", 1),
        ("MÄ", 1),
        ("PAYA", 2),
        ("pä", 2),
        ("Kimsa!", 3),
        ("llätunka", 9),
        ("tunka", 10),
        ("2\ufe0f\u20e3", 2),  # WhatsApp keycap emoji
    ],
)
def test_parse_option_understands(text: str, expected: int) -> None:
    assert parse_option(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hola",
        "12abc",
        "abc12",
        "👍",
        "🙏",
        "tengo 2 hijos",
        "2 hijos",
        "quiero la opcion 2",
        "1 2",
        "1.5",
        "1,2",
        "opcion",
        "opcion dos tres",
        "71234567",  # a phone number, not a menu choice
        "dosis",
        "mayo",
    ],
)
def test_parse_option_rejects(text: str) -> None:
    assert parse_option(text) is None


@pytest.mark.parametrize(
    ("text", "maximum", "expected"),
    [
        ("3", 3, 3),
        ("4", 3, None),
        ("0", 3, 0),
        ("cero", 3, 0),
        ("tunka", 9, None),
        ("tunka", 10, 10),
        ("1", 0, None),
        ("1", -1, None),
    ],
)
def test_parse_option_range(text: str, maximum: int, expected: int | None) -> None:
    assert parse_option(text, maximum) == expected


@given(st.text(), st.one_of(st.none(), st.integers(min_value=-5, max_value=1000)))
def test_parse_option_never_raises_and_respects_range(text: str, maximum: int | None) -> None:
    result = parse_option(text, maximum)
    assert result is None or isinstance(result, int)
    if result is not None and maximum is not None:
        assert 0 <= result <= maximum


@given(
    st.integers(min_value=0, max_value=999),
    st.sampled_from(["{}", " {} ", "{}.", "#{}", "{})", "opcion {}", "Opción {}"]),
)
def test_parse_option_reads_decorated_numbers(n: int, template: str) -> None:
    assert parse_option(template.format(n)) == n
    assert parse_option(template.format(n), maximum=n) == n
    assert parse_option(template.format(n), maximum=n - 1) is None


@given(st.sampled_from(sorted(NUMBER_WORDS)), st.sampled_from(["{}", "{}!", "¡{}!", "{}."]))
def test_parse_option_reads_every_number_word_in_any_case(word: str, template: str) -> None:
    expected = NUMBER_WORDS[word]
    assert parse_option(template.format(word.upper())) == expected
    assert parse_option(template.format(word.title())) == expected


def test_has_words_tells_words_from_emoji_and_punctuation() -> None:
    from bot.text import has_words

    assert has_words("Basura 🙂") and has_words("3")
    assert not has_words("🙂🙂 ...!") and not has_words("")
