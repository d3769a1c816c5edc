"""One shared plotting style and the labelling every reproduced figure carries."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are files; never require a display

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["RECONSTRUCTION_LABEL", "apply_style", "new_figure", "label_figure", "save_figure"]

RECONSTRUCTION_LABEL = "RECONSTRUCTION (not the paper's figure)"

_STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.4,
    "axes.prop_cycle": matplotlib.cycler(color=["#1b6ca8", "#d1495b", "#66a182", "#edae49",
                                                "#8d6a9f", "#00798c", "#30343f"]),
}


def apply_style() -> None:
    plt.rcParams.update(_STYLE)


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 3.3, height: float = 2.7):
    apply_style()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             squeeze=False, constrained_layout=True)
    return fig, axes


def label_figure(fig, title: str, *, status: str) -> None:
    """Title the figure and record its status ("RECONSTRUCTION" or "CONFIRMED") in metadata."""
    prefix = RECONSTRUCTION_LABEL + "\n" if status == "RECONSTRUCTION" else ""
    fig.suptitle(prefix + title, fontsize=9)
    fig._collapse_lab_meta = {"Title": title, "Subject": status}


def save_figure(fig, path_stem) -> list[str]:
    """Save as PDF and PNG with the status in the files' metadata; return the paths."""
    meta = getattr(fig, "_collapse_lab_meta", {})
    paths = []
    for ext in ("pdf", "png"):
        path = f"{path_stem}.{ext}"
        md = dict(meta) if ext == "pdf" else {"Title": meta.get("Title", ""),
                                              "Description": meta.get("Subject", "")}
        fig.savefig(path, metadata=md)
        paths.append(path)
    plt.close(fig)
    return paths
