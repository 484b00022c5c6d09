"""Charts are real PNGs with axes and bars."""

from __future__ import annotations

import io

from PIL import Image

from emulator.charts import ChartSpec, render_png


def test_bar_chart_is_a_png_with_content() -> None:
    """The PNG decodes at 800×450 and is not blank (bars and text drew pixels of several colours)."""
    spec = ChartSpec("Gains", ("MSFT", "TSLA"), (15000.0, -65000.0), "Gain (USD)")
    data = render_png(spec)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (800, 450)
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None
    assert len(colours) > 10
    assert (46, 125, 50) in {colour for _, colour in colours}  # a gain bar
    assert (198, 40, 40) in {colour for _, colour in colours}  # a loss bar


def test_code_shows_the_data() -> None:
    """The code interpreter input names the labels and values it plotted."""
    code = ChartSpec("Prices", ("A",), (1.5,), "USD", kind="line").code()
    assert "labels = ['A']" in code
    assert "ax.plot" in code
