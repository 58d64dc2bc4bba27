"""Draw examples/screenshot.png: a dark-mode social post quoting the withdrawn figures.

    python examples/make_screenshot.py [OUT.png]

A reconstruction for the demo, drawn with Pillow and the DejaVu fonts (Debian package
``fonts-dejavu-core``), not a copy of any real post. The same fonts and Pillow give the
same picture every time, so the demo's verdict does not depend on a file nobody can
regenerate.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
             "/usr/local/share/fonts", "/Library/Fonts")

BACKGROUND, TEXT, GREY, ACCENT = (21, 32, 43), (231, 233, 234), (139, 152, 165), (29, 155, 240)
WIDTH, MARGIN = 760, 28

POST = ("По данным Министерства обороны России, за время специальной военной операции "
        "на Украине ВС России потеряли 9 861 человек убитыми и 16 153 ранеными.")
"""As in examples/site/kp/article.html (the demo page)."""


def font(bold: bool, size: int) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    sys.exit(f"{name} not found: apt-get install fonts-dejavu-core")


def wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont,
         width: int) -> list[str]:
    """Greedy word wrap; a figure's space is a no-break space, so 9 861 stays on one line."""
    lines: list[str] = []
    line = ""
    for word in re.sub(r"(\d) (\d{3})", "\\1\u00a0\\2", text).split(" "):
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=face) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + [line] if line else lines


def draw(post: str = POST) -> Image.Image:
    """The post as a picture; ``post`` another text for it (a test draws a forged one)."""
    regular, bold, small = font(False, 21), font(True, 22), font(False, 16)
    image = Image.new("RGB", (WIDTH, 1000), BACKGROUND)
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, WIDTH, 46), fill=(0, 0, 0))  # the app's top bar
    pen.text((MARGIN, 14), "Главная     Поиск     Уведомления     Сообщения", font=small,
             fill=GREY)
    pen.ellipse((MARGIN, 66, MARGIN + 52, 118), fill=ACCENT)
    pen.text((MARGIN + 66, 68), "Военный обозреватель", font=bold, fill=TEXT)
    pen.text((MARGIN + 66, 98), "@voenobozr · 20 мар. 2022 г.", font=small, fill=GREY)
    y = 140
    for line in wrap(pen, post, regular, WIDTH - 2 * MARGIN):
        pen.text((MARGIN, y), line.replace("\u00a0", " "), font=regular, fill=TEXT)
        y += 32
    y += 8
    pen.text((MARGIN, y), "Материал удалён с сайта через несколько часов. Скриншот сохранён.",
             font=small, fill=GREY)
    y += 40
    pen.line((MARGIN, y, WIDTH - MARGIN, y), fill=(56, 68, 77), width=1)
    pen.text((MARGIN, y + 14), "Ответить  128     Репост  2,4 тыс.     Нравится  5,1 тыс.",
             font=small, fill=GREY)
    return image.crop((0, 0, WIDTH, y + 52))


def main(target: str) -> None:
    draw().save(target, "PNG", optimize=False, compress_level=9)  # no timestamps, no metadata
    print(target)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE / "screenshot.png"))
