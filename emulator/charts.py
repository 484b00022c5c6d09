"""Real PNG charts, drawn with matplotlib (imported lazily, Agg backend, no global pyplot state)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ChartSpec:
    """What to draw: one series of labelled values."""

    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    ylabel: str
    kind: Literal["bar", "line"] = "bar"
    filename: str = "chart.png"

    def code(self) -> str:
        """The Python a code interpreter would have run to draw this chart (shown in tool-call steps)."""
        plot = "ax.bar(labels, values)" if self.kind == "bar" else "ax.plot(labels, values, marker='o')"
        return (
            "import matplotlib.pyplot as plt\n"
            f"labels = {list(self.labels)!r}\n"
            f"values = {[round(v, 2) for v in self.values]!r}\n"
            "fig, ax = plt.subplots(figsize=(8, 4.5))\n"
            f"{plot}\n"
            f"ax.set_title({self.title!r})\n"
            f"ax.set_ylabel({self.ylabel!r})\n"
            f"fig.savefig('/mnt/data/{self.filename}')\n"
        )


def render_png(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes (800×450 pixels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = list(spec.labels)
    values = list(spec.values)
    if spec.kind == "bar":
        colors = ["#2e7d32" if value >= 0 else "#c62828" for value in values]
        bars = axes.bar(labels, values, color=colors)
        axes.bar_label(bars, labels=[f"{value:,.2f}".rstrip("0").rstrip(".") for value in values], fontsize=8)
        axes.axhline(0, color="black", linewidth=0.8)
    else:
        axes.plot(labels, values, marker="o", color="#1565c0")
    axes.set_title(spec.title)
    axes.set_ylabel(spec.ylabel)
    axes.grid(axis="y", alpha=0.3)
    if len(labels) > 6:
        axes.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
