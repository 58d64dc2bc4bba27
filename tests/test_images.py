"""Every bad input becomes one ImageError line; good images keep their facts."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from provenance.errors import ImageError, UsageError
from provenance.screens.images import MAX_PIXELS, load_image, load_image_bytes


def png(size=(120, 40), colour="white") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg(size=(120, 40)) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def one_line(exc: pytest.ExceptionInfo[ImageError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_image_error_is_a_usage_error_exit_2():
    assert issubclass(ImageError, UsageError) and ImageError.exit_code == 2


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, I am text")
    with pytest.raises(ImageError) as exc:
        load_image(path)
    assert "not an image" in one_line(exc)


def test_zero_bytes(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError) as exc:
        load_image(path)
    assert "empty" in one_line(exc)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError) as exc:
        load_image(tmp_path / "nope.png")
    assert "cannot read" in one_line(exc)


@pytest.mark.parametrize("make", [png, jpeg])
def test_truncated(make):
    data = make((400, 300))
    for cut in (len(data) * 2 // 3, 60):
        with pytest.raises(ImageError) as exc:
            load_image_bytes(data[:cut], "cut")
        assert "truncated" in one_line(exc)


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file declaring a huge 1-bit image (zlib squeezes the zeros)."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


def test_decompression_bomb_error():
    data = bomb_png(20000, 10000)  # 200 Mpx: over twice Pillow's limit -> Pillow's error
    assert len(data) < 1_000_000
    with pytest.raises(ImageError) as exc:
        load_image_bytes(data, "bomb.png")
    assert "decompression bomb" in one_line(exc)


def test_decompression_bomb_warning_is_an_error_too():
    data = bomb_png(10000, 9500)  # 95 Mpx: between Pillow's limit and twice it
    with pytest.raises(ImageError) as exc:
        load_image_bytes(data, "bomb.png")
    assert "decompression bomb" in one_line(exc)


def test_huge_but_not_a_bomb():
    assert 9000 * 9000 > MAX_PIXELS
    data = bomb_png(9000, 9000)  # 81 Mpx: under Pillow's limit, over ours
    with pytest.raises(ImageError) as exc:
        load_image_bytes(data, "huge.png")
    assert "too large" in one_line(exc)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_first_frame_said_so(fmt):
    frames = [Image.new("RGB", (60, 30), c) for c in ("white", "black", "red")]
    out = io.BytesIO()
    frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_image_bytes(out.getvalue(), f"anim.{fmt.lower()}")
    assert any("first frame" in note and "3 frames" in note for note in loaded.notes)
    assert loaded.image.getpixel((5, 5)) == (255, 255, 255)


def test_exif_orientation_applied_and_metadata_kept(tmp_path):
    image = Image.new("RGB", (200, 100), "white")
    image.paste((0, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6                       # rotate 90 degrees clockwise to view
    exif[0x0131] = "Screenshot Tool 1.0"   # Software
    exif[0x010F] = "ACME"                  # Make
    exif.get_ifd(0x8769)[0x9003] = "2022:03:21 14:03:07"  # DateTimeOriginal
    path = tmp_path / "phone.jpg"
    image.save(path, "JPEG", exif=exif, quality=95)
    original = path.read_bytes()
    loaded = load_image(path)
    assert (loaded.width, loaded.height) == (100, 200)
    assert loaded.exif["Software"] == "Screenshot Tool 1.0"
    assert loaded.exif["Make"] == "ACME"
    assert loaded.exif["DateTimeOriginal"] == "2022:03:21 14:03:07"
    assert any("orientation" in n for n in loaded.notes)
    assert path.read_bytes() == original  # the evidence is never modified


def test_hashes(tmp_path):
    import hashlib

    data = png()
    path = tmp_path / "a.png"
    path.write_bytes(data)
    loaded = load_image(path)
    assert loaded.sha256 == hashlib.sha256(data).hexdigest()
    assert len(loaded.phash) == 16 and int(loaded.phash, 16) >= 0


def test_transparent_png_reads_on_white():
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(out, "PNG")
    assert load_image_bytes(out.getvalue()).image.getpixel((1, 1)) == (255, 255, 255)
