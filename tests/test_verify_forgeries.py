"""Forged claims against real screenshots: every figure and word of a forgery may be in the
screenshot, and it must still never be a ``match``.

The screenshots are drawn with Pillow in DejaVu Sans (as tests/evalset.py draws its set)
and read by Tesseract for real, once per module. The founding case: a tabloid printed
"9861 погибших, 16153 раненых" and withdrew it; a forger who keeps every figure of a
screenshot can still move them between words, drop a sign, a percent or a unit, or a
negation fused into a word.
"""

from __future__ import annotations

import pytest
from evalset import draw_article

from provenance.screens.match import verify_against_text, verify_text
from provenance.screens.ocr import OcrResult, ocr_image

RUSSIAN = (
    "Потери армии",
    "По данным Минобороны, с начала спецоперации погибли 9861 военнослужащих, 16153 ранены.",
    "Эти данные неподтверждённые: независимые источники их не проверяли.",
    "Бюджет операции вырос на 12% и составил 3,5 млн рублей, колонна растянулась на 40 км.",
    "Температура ночью упала до −5 градусов. Отчёт опубликован 03.04.2022 в 14:03.",
    "Россия атаковала Украину 24 февраля, сообщил министр обороны.",
)
ENGLISH = (
    "Army losses",
    "The ministry said 9,861 soldiers were killed and 16,153 injured since the start.",
    "Officials did not confirm the figures, calling the reports unconfirmed.",
    "The budget rose by 12% to $3.5 million, and the convoy was 40 km long.",
    "Overnight the temperature fell to −5 degrees. The report was published on 03.04.2022.",
    "Russia attacked Ukraine on 24 February, the defence minister said.",
    "The operation was unsuccessful and the strike was illegal, the court ruled.",
)
CONTRACTIONS = (
    "Statement",
    "Officials can't confirm the figures, and the army won't name the dead.",
    "The ministry isn't sure that 9,861 soldiers were killed.",
    "Russia lost 9,861 soldiers. Ukraine lost 16,153 soldiers in the same period.",
)
PREPOSITIONS = (
    "Strikes",
    "Attacks on Ukraine killed 9,861 people, the report said.",
    "Удары по Украине унесли жизни 9861 человек, говорится в отчёте.",
    "Prices went up by 12% in the capital.",
    "Цены выросли на 12% до конца года.",
)
DENIALS = (
    "Denials",
    "The losses were not officially confirmed by the ministry on Monday.",
    "Officials didn't confirm the figures, and the army never publicly named the dead.",
    "Non-combatants were killed without warning near the border.",
    "Данные не были официально подтверждены министерством.",
    "Ведомство так и не опубликовало списки погибших, сообщил источник.",
)


def _shot(folder, name: str, title: str, *paragraphs: str, lang: str) -> OcrResult:
    return ocr_image(draw_article(folder / f"{name}.png", title, *paragraphs), lang)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forgeries")
    return {"ru": _shot(folder, "ru", *RUSSIAN, lang="rus+eng"),
            "en": _shot(folder, "en", *ENGLISH, lang="eng"),
            "no": _shot(folder, "no", *DENIALS, lang="rus+eng"),
            "ct": _shot(folder, "ct", *CONTRACTIONS, lang="eng"),
            "to": _shot(folder, "to", *PREPOSITIONS, lang="rus+eng")}


@pytest.mark.parametrize("shot, claim", [
    ("ru", "погибли 9861 военнослужащих, 16153 ранены"),
    ("ru", "погибли 9 861 военнослужащих, 16 153 ранены"),
    ("ru", "Бюджет операции вырос на 12% и составил 3,5 млн рублей"),
    ("ru", "колонна растянулась на 40 км"),
    ("ru", "Температура ночью упала до −5 градусов"),
    ("ru", "Эти данные неподтверждённые"),
    ("ru", "Россия атаковала Украину 24 февраля"),
    ("en", "9,861 soldiers were killed and 16,153 injured"),
    ("en", "The budget rose by 12% to $3.5 million"),
    ("en", "the convoy was 40 km long"),
    ("en", "the temperature fell to -5 degrees"),
    ("en", "the strike was illegal"),
    ("no", "The losses were not officially confirmed"),
    ("no", "Officials didn't confirm the figures"),
    ("no", "Non-combatants were killed without warning"),
    ("no", "Ведомство так и не опубликовало списки погибших"),
    ("no", "сообщил источник"),
    ("no", "were killed without warning"),  # "Non-" negates only its own word
    ("ct", "Officials can't confirm the figures"),
    ("ct", "the army won't name the dead"),
    ("to", "Attacks on Ukraine killed 9,861 people"),
    ("to", "Удары по Украине унесли жизни 9861 человек"),   # 'по' read as 'no'
    ("to", "Prices went up by 12% in the capital"),          # 'by' read as 'Бу'
    ("to", "Цены выросли на 12% до конца года"),             # 'на' read as 'Ha'
])
def test_the_genuine_passages_match(shots, shot, claim):
    result = verify_text(shots[shot], claim)
    assert result.verdict == "match", result.reasons


@pytest.mark.parametrize("shot, claim, reason", [
    ("ru", "Бюджет операции вырос на 12 и составил 3,5 млн рублей",
     "figure 12 differs: the screenshot shows 12%"),
    ("en", "The budget rose by 12 to $3.5 million", "figure 12 differs: the screenshot shows 12%"),
    ("en", "The budget rose by 12% to €3.5 million",
     "figure €3.5 differs: the screenshot shows $3.5"),
    ("ru", "колонна растянулась на 40 м", "figure 40 м differs: the screenshot shows 40 км"),
    ("en", "the convoy was 40 m long", "figure 40 m differs: the screenshot shows 40 km"),
    ("en", "the convoy was 40 mi long", "figure 40 mi differs: the screenshot shows 40 km"),
    ("ru", "Температура ночью упала до 5 градусов", "figure 5 differs: the screenshot shows —5"),
    ("ru", "Температура ночью упала до +5 градусов",
     "figure +5 differs: the screenshot shows —5"),
    ("en", "the temperature fell to 5 degrees", "figure 5 differs: the screenshot shows —5"),
])
def test_a_sign_symbol_or_unit_changed_is_a_mismatch(shots, shot, claim, reason):
    result = verify_text(shots[shot], claim)
    assert result.verdict == "mismatch"
    assert reason in result.reasons


@pytest.mark.parametrize("shot, claim", [
    # every figure is there, bound to the other word
    ("ru", "погибли 16153 военнослужащих, 9861 ранены"),
    ("en", "16,153 soldiers were killed and 9,861 injured"),
    ("en", "16,153 killed, 9,861 injured"),
    # separators moved, scale words added or changed
    ("ru", "погибли 98,61 военнослужащих, 16153 ранены"),
    ("ru", "погибли 9861 тысяч военнослужащих, 16153 ранены"),
    ("ru", "Бюджет операции вырос на 12% и составил 3,5 тыс рублей"),
    ("ru", "Бюджет операции вырос на 12% и составил 3,5 млрд рублей"),
    ("en", "9,861 thousand soldiers were killed and 16,153 injured"),
    ("en", "The budget rose by 12% to $3.5 billion"),
    # a date's day and month swapped, its year or a time changed
    ("ru", "Отчёт опубликован 04.03.2022 в 14:03"),
    ("ru", "Отчёт опубликован 03.04.2023 в 14:03"),
    ("ru", "Отчёт опубликован 03.04.2022 в 14:30"),
    ("en", "The report was published on 04.03.2022"),
    # who did what; a negation dropped; more than the screenshot shows; spliced
    ("ru", "Украина атаковала Россию 24 февраля"),
    ("en", "Ukraine attacked Russia on 24 February"),
    ("ru", "независимые источники их проверяли"),
    ("en", "Officials did confirm the figures"),
    ("en", "calling the reports confirmed"),
    ("ct", "Officials can confirm the figures"),          # can't
    ("ct", "the army will name the dead"),                # won't
    ("ct", "The ministry is sure that 9,861 soldiers were killed"),   # isn't
    ("ct", "Russia lost 16,153 soldiers"),                # a figure of the next sentence
    ("ct", "Russia lost 9,861 soldiers in the same period"),   # spliced across sentences
    ("ru", "Россия атаковала Украину 24 февраля, сообщил министр обороны. Киев это подтвердил."),
    ("ru", "погибли 9861 военнослужащих, данные неподтверждённые"),
    ("en", "Russia attacked Ukraine on 24 February, the court ruled"),
])
def test_forgeries_already_caught_never_match(shots, shot, claim):
    assert verify_text(shots[shot], claim).verdict == "mismatch"


@pytest.mark.parametrize("shot, claim, shown", [
    ("ru", "Эти данные подтверждённые", "неподтверждённые"),
    ("en", "the strike was legal", "illegal"),
    ("en", "The operation was successful", "unsuccessful"),
])
def test_a_negative_prefix_dropped_is_a_mismatch(shots, shot, claim, shown):
    result = verify_text(shots[shot], claim)
    assert result.verdict == "mismatch"
    assert [w.found_as for w in result.words] == [shown]


@pytest.mark.parametrize("claim, negation", [
    ("confirmed by the ministry on Monday", "not"),       # two words back
    ("officially confirmed by the ministry", "not"),      # the word just before
    ("confirm the figures", "n't"),                       # didn't
    ("подтверждены министерством", "не"),                  # three words back
    ("официально подтверждены министерством", "не"),
    ("publicly named the dead", "never"),
])
def test_a_negation_of_the_clause_left_out_before_the_quote_is_a_mismatch(shots, claim,
                                                                          negation):
    result = verify_text(shots["no"], claim)
    assert result.verdict == "mismatch"
    assert [(w.found_as or "").lower() for w in result.words] in ([negation], ["he"])
    assert result.differing_boxes   # boxed red on the screenshot


# --- --against: a short paragraph with a figure ---------------------------------------------

P2 = "Эти данные неподтверждённые: независимые источники их не проверяли."
P3 = "Ведомство так и не опубликовало списки погибших, сообщил источник."


@pytest.mark.parametrize("headline, verdict", [
    ("Погибли 9861 военнослужащих", "match"),
    ("Погибли 9881 военнослужащих", "mismatch"),     # the headline's figure edited
    ("Погибли 9861 человек", "mismatch"),            # or its word
    ("Нравится 5,1 тыс.", "match"),                  # a counter the page lacks: UI chrome
])
def test_a_short_headline_with_a_figure_is_compared_too(tmp_path, headline, verdict):
    """A paragraph under four words is UI chrome ("Reply Repost") and not looked for, but
    one with a figure that the article has with another figure or word is an edit."""
    page = f"Погибли 9861 военнослужащих\n{P2}\n{P3}"
    shot = _shot(tmp_path, "headline", headline, P2, P3, lang="rus")
    result = verify_against_text(shot, page, page)
    assert result.verdict == verdict, result.reasons


@pytest.mark.parametrize("claim, said, shown", [
    ("Attacks by Ukraine killed 9,861 people", "by", "on"),
    ("Attacks in Ukraine killed 9,861 people", "in", "on"),
    ("Prices went up to 12% in the capital", "to", None),
    ("Цены выросли до 12% до конца года", "до", None),
])
def test_a_short_word_shown_as_another_is_a_mismatch(shots, claim, said, shown):
    """Words of one or two letters are not missing when OCR lost them, but one the
    screenshot shows as a word OCR cannot have misread it as is another word."""
    result = verify_text(shots["to"], claim)
    assert result.verdict == "mismatch", result.reasons
    assert [w.claim_text for w in result.words] == [said]
    if shown:
        assert [w.found_as for w in result.words] == [shown]
