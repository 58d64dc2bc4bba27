"""A labelled evaluation set of screenshots, drawn with Pillow when the tests run.

No downloaded data: every image is rendered from the passages below with a Cyrillic-capable
TrueType font (DejaVu Sans, Debian package ``fonts-dejavu-core``), then degraded the way
real screenshots are: JPEG at quality 10-50, downscaled to a third, dark-mode social post
with UI chrome, white-on-colour banner, rotated 2-3 degrees, blurred, low contrast, two
columns.

Each passage is drawn four ways, each with the label ``verify`` must give for its claim:

* ``genuine``   the passage as published                 -> ``match``
* ``forged``    one digit of one claimed figure changed   -> ``mismatch`` (never ``match``)
* ``swapped``   one word of the claim swapped: a name, a place, a colour, another word,
                a negation added or removed               -> ``mismatch`` (never ``match``)
* ``unrelated`` a different text of the same language     -> ``absent``

The swaps cycle through a passage's list, one per damage class, so every language and every
damage class has swapped words, and the figures of a swapped screenshot are all genuine:
only the words tell it apart.

``generate(folder, full=False)`` writes the images and returns :class:`Sample` rows; the
reduced set keeps the test suite fast, the full set is for ``benchmarks/ocr_verify.py``.
Generation is deterministic (fixed seeds), so a failure can be reproduced image by image.
"""

from __future__ import annotations

import io
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
             "/usr/local/share/fonts", "/Library/Fonts")


@dataclass(frozen=True)
class Passage:
    key: str
    lang: str
    title: str
    body: str          # contains the claim verbatim
    claim: str         # what someone says the screenshot shows
    context: str       # a second paragraph drawn under the body
    unrelated: str     # a text that does not contain the claim
    swaps: tuple[tuple[str, str, str], ...] = ()
    """(what, old, new): ``old`` (inside the claim) is drawn as ``new`` in a swapped image."""


PASSAGES = [
    Passage(
        "kp", "rus",
        "Спецоперация на Украине: данные Минобороны",
        "По данным Минобороны, с начала специальной операции российские войска потеряли "
        "9 861 человек убитыми и 16 153 ранеными. Ведомство не уточнило, за какой период.",
        "потеряли 9 861 человек убитыми и 16 153 ранеными",
        "Позднее публикация была удалена с сайта, редакция заявила о взломе.",
        "Синоптики обещают в выходные теплую погоду: днем до плюс восемнадцати градусов, "
        "ночью заморозки до минус двух. Дожди ожидаются только в понедельник.",
        (("negation added", "потеряли", "не потеряли"), ("word", "убитыми", "пленными"),
         ("word", "ранеными", "пропавшими")),
    ),
    Passage(
        "moscow", "rus",
        "Коронавирус в Москве",
        "За сутки в столице выявили 2 417 новых случаев заражения, госпитализированы "
        "388 человек, в том числе 45 детей. Выздоровели 3 120 пациентов.",
        "в столице выявили 2 417 новых случаев заражения, госпитализированы 388 человек",
        "Оперативный штаб напоминает о необходимости вакцинации.",
        "Библиотеки города продлевают часы работы: читальные залы будут открыты "
        "до позднего вечера, а выдача книг станет возможной и по воскресеньям.",
        (("place", "столице", "Подмосковье"),
         ("negation added", "госпитализированы", "не госпитализированы"),
         ("word", "заражения", "выздоровления")),
    ),
    Passage(
        "ppo", "ukr",
        "Повітряні сили: нічна атака",
        "Уночі сили протиповітряної оборони знищили 27 крилатих ракет і 14 ударних дронів. "
        "Їхні уламки впали на Київщині, є пошкодження будинків.",
        "знищили 27 крилатих ракет і 14 ударних дронів. Їхні уламки впали на Київщині",
        "Євген Ігнат закликав українців не ігнорувати сигнали тривоги.",
        "Міська рада ухвалила нові правила паркування в центрі: вартість години "
        "зросте, а мешканці отримають пільгові абонементи на подвір'я.",
        (("negation added", "знищили", "не знищили"), ("place", "Київщині", "Харківщині"),
         ("word", "крилатих", "балістичних")),
    ),
    Passage(
        "kyiv", "ukr",
        "Наслідки обстрілу",
        "Через обстріл у Києві знеструмлено 1 250 будинків, ще 340 отримали пошкодження. "
        "Енергетики працюють цілодобово, щоб відновити світло.",
        "у Києві знеструмлено 1 250 будинків, ще 340 отримали пошкодження",
        "Мешканців просять економити електроенергію ввечері.",
        "Ботанічний сад відкриває виставку орхідей: відвідувачі побачать понад "
        "двісті сортів, зібраних з усього світу, а вхід для дітей безкоштовний.",
        (("place", "Києві", "Львові"), ("negation added", "отримали", "не отримали"),
         ("word", "будинків", "лікарень")),
    ),
    Passage(
        "mod", "eng",
        "Ministry releases casualty figures",
        "The ministry said 1,351 soldiers had been killed and 3,825 wounded since the start "
        "of the operation, but did not say how many were missing.",
        "The ministry said 1,351 soldiers had been killed and 3,825 wounded since the start "
        "of the operation, but did not say how many were missing",
        "Independent estimates put the figure considerably higher.",
        "The city council approved a plan to plant trees along the river, with volunteers "
        "invited to join the first planting weekend next spring.",
        (("negation removed", "did not say", "did say"), ("name", "ministry", "governor"),
         ("word", "killed", "captured"), ("negation added", "had been", "had not been")),
    ),
    Passage(
        "vote", "eng",
        "Election night",
        "Turnout reached 67.4 percent, with 2,318,450 ballots counted by midnight and "
        "results expected from 412 districts on Monday.",
        "2,318,450 ballots counted by midnight and results expected from 412 districts on "
        "Monday",
        "Observers reported long queues in the capital.",
        "A new bakery opened on the main square this morning, offering sourdough bread, "
        "cinnamon buns and coffee roasted by a local family firm.",
        (("negation added", "expected", "not expected"), ("day", "Monday", "Friday"),
         ("word", "midnight", "noon")),
    ),
    Passage(  # a Latin-script name in a Cyrillic text, as on lenta.ru or championat.com
        "concert", "rus",
        "Афиша: летние концерты",
        "Группа Panic! At The Disco выступит в Москве 14 июля в красных костюмах, а концерт "
        "в Казани не состоится: продано меньше 3 500 билетов.",
        "Panic! At The Disco выступит в Москве 14 июля в красных костюмах, а концерт в "
        "Казани не состоится",
        "Организаторы советуют приезжать на стадион заранее.",
        "Музей современного искусства открывает новую выставку: посетители увидят работы "
        "молодых художников из двадцати городов страны.",
        (("name", "Panic! At The Disco", "Coldplay"), ("place", "Москве", "Петербурге"),
         ("negation removed", "не состоится", "состоится"), ("colour", "красных", "белых"),
         ("negation added", "выступит", "не выступит")),
    ),
]

VARIANTS = ["clean", "jpeg", "third", "dark", "banner", "rotate", "blur", "lowcontrast",
            "columns"]
KINDS = {"genuine": "match", "forged": "mismatch", "swapped": "mismatch",
         "unrelated": "absent"}

REDUCED_PASSAGES = ("kp", "ppo", "mod", "concert")
REDUCED_VARIANTS = ("clean", "jpeg", "dark", "banner", "rotate", "columns")


@dataclass(frozen=True)
class Sample:
    name: str
    path: str
    lang: str
    variant: str
    kind: str
    claim: str
    expected: str   # match | mismatch | absent
    shown: str      # the text drawn (for the report of a failure)


def find_font(bold: bool = False) -> str:
    """A TrueType font with Cyrillic; DejaVu Sans from fonts-dejavu-core."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            return candidate
    raise RuntimeError("no DejaVu font: apt-get install -y fonts-dejavu-core")


def forge(text: str, claim: str, rng: random.Random) -> tuple[str, str]:
    """Change one digit of one figure inside the claim's occurrence in ``text``."""
    start = text.index(claim)
    digits = [m.start() + start for m in re.finditer(r"\d", claim)]
    pos = rng.choice(digits)
    old = text[pos]
    new = rng.choice([d for d in "0123456789" if d != old and not (d == "0" and pos == start)])
    return text[:pos] + new + text[pos + 1:], f"{old}->{new} at {pos - start}"


def swap(text: str, claim: str, old: str, new: str) -> str:
    """``old`` drawn as ``new`` inside the claim's occurrence in ``text``."""
    start = text.index(claim)
    at = claim.index(old) + start
    return text[:at] + new + text[at + len(old):]


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont,
          width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    # Keep thousands groups together, as typesetters do with a no-break space.
    words = re.sub(r"(\d) (\d{3})", "\\1\u00a0\\2", text).split(" ")
    for word in words:
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _draw_paragraphs(draw: ImageDraw.ImageDraw, x: int, y: int, width: int,
                     paragraphs: list[tuple[str, ImageFont.FreeTypeFont]], fill: object,
                     spacing: float = 1.45) -> int:
    for text, font in paragraphs:
        size = font.size
        for line in _wrap(draw, text, font, width):
            draw.text((x, y), line, font=font, fill=fill)
            y += int(size * spacing)
        y += int(size * 0.8)
    return y


def draw_article(path: Path, title: str | None, *paragraphs: str, width: int = 760,
                 size: int = 19, title_size: int = 24) -> Path:
    """A plain screenshot of an article (a bold title over regular paragraphs, black on
    white, DejaVu Sans) saved at ``path``, cropped below its last line: the tests' stand-in
    for a screenshot of a page, read by Tesseract for real."""
    regular = ImageFont.truetype(find_font(), size)
    lines = [(p, regular) for p in paragraphs]
    if title is not None:
        lines.insert(0, (title, ImageFont.truetype(find_font(bold=True), title_size)))
    image = Image.new("RGB", (width, 3000), "white")
    y = _draw_paragraphs(ImageDraw.Draw(image), 28, 28, width - 60, lines, (20, 20, 20))
    image.crop((0, 0, width, y + 28)).save(path)
    return path


def render(passage: Passage, body: str, variant: str, rng: random.Random) -> Image.Image:
    """Draw ``body`` (genuine, forged or unrelated) as a screenshot of the given variant."""
    scale = 2 if variant == "third" else 1  # a retina screenshot, later shrunk to a third
    size = 19 * scale
    regular = ImageFont.truetype(find_font(), size)
    bold = ImageFont.truetype(find_font(bold=True), int(size * 1.25))
    small = ImageFont.truetype(find_font(), int(size * 0.8))
    width = 720 * scale
    margin = 28 * scale
    fg, bg = (20, 20, 20), (255, 255, 255)
    if variant == "lowcontrast":
        fg, bg = (120, 120, 120), (175, 175, 175)

    if variant == "columns":
        image = Image.new("RGB", (width + 260, 560), bg)
        draw = ImageDraw.Draw(image)
        column = (width + 260 - 3 * margin) // 2
        draw.text((margin, 20), passage.title, font=bold, fill=fg)
        _draw_paragraphs(draw, margin, 70, column, [(body, regular)], fg)
        other = passage.unrelated if body != passage.unrelated else passage.context
        _draw_paragraphs(draw, 2 * margin + column, 70, column,
                         [(passage.context, regular), (other, regular)], fg)
        return image

    if variant == "dark":
        bg, fg, grey = (21, 32, 43), (231, 233, 234), (139, 152, 165)
        image = Image.new("RGB", (width, 520), bg)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, width, 44), fill=(0, 0, 0))
        draw.text((margin, 12), "Главная   Поиск   Уведомления", font=small, fill=grey)
        draw.ellipse((margin, 64, margin + 48, 112), fill=(29, 155, 240))
        draw.text((margin + 62, 66), "Новости 24", font=bold, fill=fg)
        draw.text((margin + 62, 94), "@news24 · 14:03", font=small, fill=grey)
        y = _draw_paragraphs(draw, margin, 130, width - 2 * margin, [(body, regular)], fg)
        draw.text((margin, y + 10), "Ответить    Репост    Нравится", font=small, fill=grey)
        return image.crop((0, 0, width, min(520, y + 50)))

    image = Image.new("RGB", (width, 460 * scale), bg)
    draw = ImageDraw.Draw(image)
    y = margin
    if variant == "banner":
        draw.text((margin, y), passage.title, font=bold, fill=fg)
        y += 56
        lines = _wrap(draw, body, bold, width - 2 * margin)
        band = 16 + len(lines) * int(bold.size * 1.4)
        draw.rectangle((0, y, width, y + band), fill=(200, 16, 46))
        for i, line in enumerate(lines):
            draw.text((margin, y + 8 + i * int(bold.size * 1.4)), line, font=bold,
                      fill=(255, 255, 255))
        y += band + 20
        y = _draw_paragraphs(draw, margin, y, width - 2 * margin, [(passage.context, regular)],
                             fg)
    else:
        y = _draw_paragraphs(draw, margin, y, width - 2 * margin,
                             [(passage.title, bold), (body, regular), (passage.context, small)],
                             fg)
    image = image.crop((0, 0, width, y + margin))

    if variant == "rotate":
        angle = rng.choice([-1, 1]) * rng.uniform(2.0, 3.0)
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                             fillcolor=bg)
    elif variant == "blur":
        image = image.filter(ImageFilter.GaussianBlur(1.3))
    elif variant == "third":
        image = image.resize((image.width // 3, image.height // 3),
                             Image.Resampling.LANCZOS)
    return image


def _encode(image: Image.Image, variant: str, rng: random.Random) -> tuple[bytes, str]:
    out = io.BytesIO()
    if variant == "jpeg":
        image.save(out, "JPEG", quality=rng.randint(10, 50))
        return out.getvalue(), ".jpg"
    if variant in ("third", "dark"):
        image.save(out, "JPEG", quality=80)  # social networks recompress
        return out.getvalue(), ".jpg"
    image.save(out, "PNG")
    return out.getvalue(), ".png"


def generate(folder: str | os.PathLike[str], full: bool = False) -> list[Sample]:
    """Write the evaluation images into ``folder``; the reduced set unless ``full``."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    samples = []
    for passage in PASSAGES:
        if not full and passage.key not in REDUCED_PASSAGES:
            continue
        variants = [v for v in VARIANTS if full or v in REDUCED_VARIANTS]
        for number, variant in enumerate(variants):
            for kind, expected in KINDS.items():
                rng = random.Random(f"{passage.key}/{variant}/{kind}")
                if kind == "genuine":
                    body = passage.body
                elif kind == "forged":
                    body, _ = forge(passage.body, passage.claim, rng)
                elif kind == "swapped":
                    if not passage.swaps:
                        continue
                    _, old, new = passage.swaps[number % len(passage.swaps)]
                    body = swap(passage.body, passage.claim, old, new)
                else:
                    body = passage.unrelated
                image = render(passage, body, variant, rng)
                data, suffix = _encode(image, variant, rng)
                name = f"{passage.key}-{variant}-{kind}"
                path = root / (name + suffix)
                path.write_bytes(data)
                samples.append(Sample(name, str(path), passage.lang, variant, kind,
                                      passage.claim, expected, body))
    return samples


if __name__ == "__main__":  # regenerate the full set for a look: python tests/evalset.py DIR
    import sys

    for sample in generate(sys.argv[1] if len(sys.argv) > 1 else "evalset", full=True):
        print(sample.path, sample.expected)
