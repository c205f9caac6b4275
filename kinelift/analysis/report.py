"""A one-page PNG report of a squat analysis: angle curves with the repetitions marked, and a table."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_squat_report"]

_CURVES = ("knee_flexion_r", "knee_flexion_l", "hip_flexion_r", "hip_flexion_l", "trunk_lean", "knee_fppa_r", "knee_fppa_l")


_LABELS = {
    "repetition": "rep", "descent_s": "descent\n(s)", "ascent_s": "ascent\n(s)", "peak_knee_flexion_r_deg": "knee flex R\n(deg)",
    "peak_knee_flexion_l_deg": "knee flex L\n(deg)", "thigh_angle_at_bottom_deg": "thigh angle\n(deg)",
    "peak_knee_fppa_r_deg": "FPPA R\n(deg)", "trunk_shank_difference_deg": "trunk-shank\n(deg)",
}  # fmt: skip


def plot_squat_report(analysis, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write the report of a :class:`~kinelift.analysis.squat.SquatAnalysis` to ``path`` (PNG, atomically)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from kinelift.io._atomic import save_png

    angles = analysis.angles
    fig, (ax, tab) = plt.subplots(2, 1, figsize=(10, 9), gridspec_kw={"height_ratios": [3, 2]})
    for name in _CURVES:
        if name in angles.column_names:
            ax.plot(angles.time, np.degrees(angles.column(name)), label=name, lw=1.2)
    for rep in analysis.repetitions:
        ax.axvspan(rep.start_time, rep.end_time, color="0.9", zorder=0)
        ax.axvline(rep.bottom_time, color="0.5", lw=0.8, ls="--")
        ax.text(rep.bottom_time, ax.get_ylim()[1], f" {rep.number}", va="top", fontsize=8)
    ax.set(xlabel="time (s)", ylabel="angle (deg)", title=f"Squat report: {len(analysis.repetitions)} repetition(s), {analysis.view} view")
    ax.legend(fontsize=8, ncol=4, loc="lower right")
    tab.axis("off")
    m = analysis.metrics_in_degrees()
    shown = [c for c in ("repetition", "descent_s", "ascent_s", "peak_knee_flexion_r_deg", "peak_knee_flexion_l_deg",
                         "thigh_angle_at_bottom_deg", "peak_knee_fppa_r_deg", "trunk_shank_difference_deg") if c in m]  # fmt: skip
    if len(m):
        cells = [[f"{v:.0f}" if c == "repetition" else f"{v:.2f}" if c.endswith("_s") else f"{v:.0f}" for c, v in row.items()]
                 for _, row in m[shown].iterrows()]  # fmt: skip
        cells = [row + [fb] for row, fb in zip(cells, analysis.feedback["verdict"])]
        labels = [_LABELS.get(c, c) for c in shown] + ["verdict"]
        table = tab.table(cellText=cells, colLabels=labels, loc="upper center")
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.scale(1, 2.0)
        notes = "\n".join(f"rep {r}: {msg}" for r, msg in zip(analysis.feedback["repetition"], analysis.feedback["messages"]))
        tab.text(0.0, 0.0, notes, fontsize=8, va="bottom", transform=tab.transAxes)
    else:
        tab.text(0.5, 0.5, "no repetition found", ha="center")
    fig.tight_layout()
    save_png(fig, path, overwrite=overwrite)
