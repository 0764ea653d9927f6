"""Draw the console's app icons (the same mark as console/static/icons/favicon.svg) as PNG and ICO.

The files are committed; run this again only when the mark changes:
    .venv/bin/pip install pillow && .venv/bin/python deploy/make_icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "console" / "static" / "icons"
NAVY, RED, WHITE = "#16202f", "#d92d20", "#ffffff"
SIZES = {"favicon-32.png": 32, "apple-touch-icon.png": 180, "icon-192.png": 192, "icon-512.png": 512}
DRAWN_AT = 1024  # drawn large, then scaled down smoothly


def mark(size: int) -> Image.Image:
    """A red warning triangle with a white exclamation mark on a navy rounded square (64-unit grid)."""
    unit = DRAWN_AT / 64
    image = Image.new("RGBA", (DRAWN_AT, DRAWN_AT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, DRAWN_AT - 1, DRAWN_AT - 1), radius=14 * unit, fill=NAVY)
    triangle = [(32 * unit, 9 * unit), (58 * unit, 54 * unit), (6 * unit, 54 * unit)]
    draw.polygon(triangle, fill=RED)
    draw.rounded_rectangle((29 * unit, 24 * unit, 35 * unit, 41 * unit), radius=3 * unit, fill=WHITE)
    draw.ellipse((28.5 * unit, 44 * unit, 35.5 * unit, 51 * unit), fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    for name, size in SIZES.items():
        mark(size).save(ICONS / name, optimize=True)
    mark(64).save(ICONS / "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
