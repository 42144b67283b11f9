"""Read a QR code the way a phone's camera would: rasterise the served SVG, decode it with zxing.

The app's QR SVG (``qrcode``'s path image) is a set of unit squares on a grid, written as
``M x,y H x+1 V y+1 H x z``.  Each square is painted black into a grey-scale bitmap, a few
pixels per module, and the bitmap goes to zxing-cpp, a real decoder; nothing here knows what
the code says.  Any other SVG shape is refused, so a change of the image format fails the test
loudly instead of decoding something else.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import zxingcpp

SVG = "{http://www.w3.org/2000/svg}"
SQUARE = re.compile(r"M(\d+),(\d+)H(\d+)V(\d+)H(\d+)z")
PIXELS_PER_MODULE = 6


def rasterise(svg: bytes) -> memoryview:
    """The SVG's squares as a white grey-scale bitmap with black modules (rows x columns)."""
    root = ET.fromstring(svg)
    _, _, width, height = (int(float(v)) for v in root.attrib["viewBox"].split())
    paths = root.findall(f"{SVG}path")
    assert len(paths) == 1, f"expected one path of squares, got {len(paths)}"
    drawing = paths[0].attrib["d"]
    squares = SQUARE.findall(drawing)
    assert squares and "".join(f"M{a},{b}H{c}V{d}H{e}z" for a, b, c, d, e in squares) == drawing, (
        "the QR path is not made of unit squares only"
    )
    scale = PIXELS_PER_MODULE
    columns, rows = width * scale, height * scale
    bitmap = bytearray(b"\xff" * (columns * rows))
    for x, y, right, bottom, back in ((int(v) for v in square) for square in squares):
        assert right == x + 1 and bottom == y + 1 and back == x, "a QR module is not a unit square"
        for row in range(y * scale, (y + 1) * scale):
            start = row * columns + x * scale
            bitmap[start : start + scale] = b"\x00" * scale
    return memoryview(bytes(bitmap)).cast("B", (rows, columns))


def decode_qr_svg(svg: bytes) -> str:
    """The text of the one QR code in ``svg``."""
    found = zxingcpp.read_barcodes(rasterise(svg), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"expected one QR code, zxing read {len(found)}"
    return found[0].text
