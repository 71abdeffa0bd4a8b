"""Logos: judged by content, capped before decoding, re-encoded as clean PNG, stored by our name."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image

from signon.signatures import uploads
from signon.signatures.uploads import LogoError, process_logo, save_logo, stored_logo
from tests.signatures.factories import SVG, image_bytes, png_bomb


@pytest.fixture
def storage(app: Flask, tmp_path: Path):
    """Logos written under a temporary storage folder."""
    settings = app.config["SIGNON"]
    app.config["SIGNON"] = settings.with_(storage_dir=str(tmp_path))
    with app.app_context():
        yield tmp_path
    app.config["SIGNON"] = settings


def _process(data: bytes) -> uploads.ProcessedLogo:
    return process_logo(io.BytesIO(data))


def _decoded(logo: uploads.ProcessedLogo) -> Image.Image:
    image = Image.open(io.BytesIO(logo.png))
    image.load()
    return image


@pytest.mark.parametrize(
    ("fmt", "mode", "extra"),
    [("PNG", "RGBA", {}), ("JPEG", "RGB", {"quality": 80}), ("WEBP", "RGB", {}), ("PNG", "P", {})],
)
def test_png_jpeg_and_webp_come_out_as_png(fmt: str, mode: str, extra: dict[str, int]) -> None:
    color = 3 if mode == "P" else (10, 120, 200, 255)[: len(mode)]
    logo = _process(image_bytes(300, 100, fmt=fmt, mode=mode, color=color, **extra))
    image = _decoded(logo)
    assert image.format == "PNG" and image.size == (300, 100)
    assert image.mode in ("RGB", "RGBA", "L", "LA")
    assert uploads.LOGO_NAME.fullmatch(logo.filename)


def test_large_logos_are_scaled_down_to_1200_pixels() -> None:
    logo = _process(image_bytes(3000, 1500, fmt="JPEG", quality=50))
    assert (logo.width, logo.height) == (1200, 600)
    assert _decoded(logo).size == (1200, 600)


def test_metadata_is_stripped_and_orientation_applied() -> None:
    exif = Image.Exif()
    exif[0x0110] = "Secret Camera Model"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    source = image_bytes(80, 40, fmt="JPEG", exif=exif.tobytes())
    assert b"Secret Camera Model" in source
    logo = _process(source)
    image = _decoded(logo)
    assert image.size == (40, 80)  # upright
    assert b"Secret Camera Model" not in logo.png
    assert "exif" not in image.info and not image.getexif()
    png_with_text = io.BytesIO()
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "tracking-id-1234")
    Image.new("RGB", (20, 20)).save(png_with_text, format="PNG", pnginfo=info)
    assert b"tracking-id-1234" not in _process(png_with_text.getvalue()).png


@pytest.mark.parametrize(
    "data",
    [
        SVG,
        b"<html><script>alert(1)</script></html>",
        b"GIF89a" + image_bytes(fmt="GIF")[6:],
        b"%PDF-1.4 not a logo",
        image_bytes(fmt="PNG")[:60],  # truncated
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # a PNG signature and garbage
    ],
    ids=["svg", "html", "gif", "pdf", "truncated-png", "png-signature-only"],
)
def test_anything_else_is_refused_whatever_its_name(data: bytes) -> None:
    with pytest.raises(LogoError, match="not a PNG, JPEG or WebP"):
        _process(data)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(LogoError, match="empty"):
        _process(b"")


def test_oversize_files_are_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    monkeypatch.setattr(uploads, "_open", lambda data: opened.append(data))
    with pytest.raises(LogoError, match="larger than 2 MB"):
        _process(b"\x89PNG" + b"\x00" * uploads.MAX_LOGO_BYTES)
    assert opened == []


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = png_bomb(20_000)
    assert len(bomb) < 200_000  # tiny on disk: 400 million pixels once decoded
    with pytest.raises(LogoError, match=r"too large|pixels"):
        _process(bomb)


def test_more_than_25_megapixels_is_refused_with_the_size() -> None:
    big = png_bomb(6_000)  # 36 MP, under Pillow's own guard
    with pytest.raises(LogoError, match=r"6,000 × 6,000 pixels; we accept up to 25 million"):
        _process(big)


def test_save_and_find_by_generated_name_only(storage: Path) -> None:
    logo = _process(image_bytes())
    name = save_logo(logo)
    assert name == "logos/" + logo.filename
    assert (storage / name).read_bytes() == logo.png
    assert stored_logo(logo.filename) == name
    assert [p.name for p in (storage / "logos").iterdir()] == [logo.filename]  # no temp left
    for bad in ("../secret.png", "/etc/passwd", logo.filename.upper(), "x.png", "", None):
        assert stored_logo(bad) is None
    assert stored_logo("0" * 32 + ".png") is None  # a valid name, no such file
