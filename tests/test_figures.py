"""Figures compare by exact value: grouping, decimals, adjacent numbers, never fuzzy."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provenance.screens.figures import (
    extract_figures,
    figure_marks,
    figure_value,
    same_figure,
)


def values(text: str) -> list[str]:
    return [f.value for f in extract_figures(text)]


@pytest.mark.parametrize("written", ["9861", "9 861", "9\u00a0861", "9\u2009861",
                                     "9\u202f861", "9,861", "9.861"])
def test_every_thousands_writing_is_the_same_value(written):
    assert figure_value(written) == "9861"
    assert same_figure(written, "9861")


def test_a_figure_is_never_close_enough():
    assert not same_figure("9881", "9861")
    assert not same_figure("9 881", "9,861")
    assert not same_figure("986", "9861")


def test_the_kp_sentence():
    text = "потеряли 9 861 человек убитыми и 16 153 ранеными"
    assert values(text) == ["9861", "16153"]
    assert [f.text for f in extract_figures(text)] == ["9 861", "16 153"]


@pytest.mark.parametrize(("text", "expected"), [
    ("2022 9 861", ["2022", "9861"]),          # a four-digit run never starts a group
    ("9 861 16 153", ["9861", "16153"]),       # a two-digit group cannot continue one
    ("12 345", ["12345"]),                     # documented: read greedily
    ("1 234 567", ["1234567"]),
    ("1,234,567", ["1234567"]),
])
def test_adjacent_numbers(text, expected):
    assert values(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("3,5", "3.5"), ("3.5", "3.5"), ("67.4", "67.4"), ("0,50", "0.5"),
    ("1 234,5", "1234.5"), ("1,234.5", "1234.5"), ("1234.567", "1234.567"),
])
def test_decimals(text, expected):
    assert figure_value(text) == expected


def test_dates_and_times_are_whole_figures():
    assert values("24.02.2022 в 14:03") == ["24.02.2022", "14:03"]
    assert not same_figure("24.02.2022", "24.02.2021")


def test_positions_point_into_the_text():
    text = "убито 9 861, ранено 16 153."
    for figure in extract_figures(text):
        assert text[figure.start:figure.end] == figure.text


def test_not_a_single_figure():
    assert figure_value("9861 человек") is None
    assert figure_value("") is None


@given(st.integers(min_value=1000, max_value=10**9),
       st.sampled_from([" ", "\u00a0", "\u2009", "\u202f", ",", "."]))
def test_grouped_writing_round_trips(number, separator):
    written = f"{number:,}".replace(",", separator)
    assert figure_value(written) == str(number)


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=8))
def test_changing_one_digit_changes_the_value(number, position):
    text = str(number)
    position %= len(text)
    changed = text[:position] + str((int(text[position]) + 1) % 10) + text[position + 1:]
    if changed.lstrip("0") == text.lstrip("0"):
        return
    assert not same_figure(text, changed)


# --- numbers longer than a float or a default Decimal holds (28 digits) ----------------------

BIG = {n: "".join(str((i * 7 + 3) % 10) for i in range(n - 1)) + "7" for n in (29, 40, 1000)}


@pytest.mark.parametrize("n", sorted(BIG))
def test_long_figures_are_exact_values(n):
    digits = "1" + BIG[n][1:]
    assert values(f"итого {digits} человек") == [digits]
    assert values(f"{digits},50 и {digits}.0") == [digits + ".5", digits]
    assert figure_value("000" + digits) == digits


@pytest.mark.parametrize("n", sorted(BIG))
def test_long_figures_differing_in_one_digit_differ(n):
    digits = "1" + BIG[n][1:]
    for position in (0, n // 2, n - 1):
        changed = digits[:position] + str((int(digits[position]) + 1) % 10) + digits[position + 1:]
        assert not same_figure(digits, changed), position
    assert not same_figure(digits, digits + "0")
    assert not same_figure(digits + ".1", digits + ".2")


def test_long_grouped_figure_is_the_same_value_as_plain():
    digits = "1" + "234" * 13  # 40 digits
    grouped = "1" + "".join(" " + "234" for _ in range(13))
    assert figure_value(grouped) == digits
    assert same_figure(grouped, digits) and same_figure(grouped.replace(" ", ","), digits)


def test_a_ten_thousand_digit_run_is_one_figure():
    run = "9" * 10_000
    assert values(f"a {run} b {run[:-1]}8") == [run, run[:-1] + "8"]


@given(st.text("0123456789", min_size=1, max_size=80),
       st.one_of(st.none(), st.text("0123456789", min_size=1, max_size=80)))
def test_canonical_value_is_the_exact_decimal_value(integer, fraction):
    written = integer + ("," + fraction if fraction else "")
    found = extract_figures(f"x {written} y")
    if len(found) != 1 or found[0].text != written or (fraction and len(fraction) == 3):
        return  # read as a thousands group or split; other tests cover that
    with localcontext() as exact:
        exact.prec = 400
        expected = Decimal(integer + ("." + fraction if fraction else ""))
        assert Decimal(found[0].value) == expected
    assert found[0].value == found[0].value.strip()
    assert not found[0].value.startswith("0") or found[0].value.startswith("0.") \
        or found[0].value == "0"
    assert not (("." in found[0].value) and found[0].value.endswith("0"))


@pytest.mark.parametrize(("text", "marks"), [
    ("fell to -5 degrees", [("\u2212", "", "", "-5")]),
    ("fell to \u20145", [("\u2212", "", None, "\u20145")]),       # a minus read as a dash
    ("rose 12% to $3.5 million", [("", "%", "", "12%"), ("", "$", "", "$3.5")]),
    ("вырос на 12 % и 40 км", [("", "%", "", "12 %"), ("", "", "км", "40 км")]),
    ("\u22125 \u00b0C", [("\u2212", "\u00b0", "c", "\u22125 \u00b0C")]),
    ("<5 and ~12 and \u2265 3", [("<", "", "", "<5"), ("~", "", "", "~12"), ("", "", None, "3")]),
    ("5-10 people, COVID-19 cases", [("", "", "", "5"), ("", "", "", "10"), ("", "", "", "19")]),
    ("\u20ac 5 paid and 5K likes", [("", "\u20ac", "", "\u20ac 5"), ("", "", "k", "5K")]),
    # a short word after a figure is not its unit unless it is one (an OCR line joined)
    ("21 juin 2018 Le Monde, 182JA.JPG, 9861 и", [("", "", "", "21"), ("", "", "", "2018"),
                                                  ("", "", "", "182"), ("", "", "", "9861")]),
])
def test_a_figures_sign_symbols_and_unit_are_its_marks(text, marks):
    found = [figure_marks(text, f.start, f.end, open_end=True) for f in extract_figures(text)]
    assert [(m.sign, m.symbols, m.unit, m.with_unit) for m in found] == marks
