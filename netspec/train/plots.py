"""Run-directory pictures: loss/accuracy curves and image grids (matplotlib, Agg backend)."""

from __future__ import annotations

from typing import Any, BinaryIO

import torch


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: list[dict[str, Any]], out: BinaryIO, title: str) -> None:
    """Loss curves (train/val) and, where present, accuracy curves side by side, as PNG into ``out``."""
    plt = _plt()
    epochs = [r["epoch"] for r in history]
    has_acc = any("val_accuracy" in r or "train_accuracy" in r for r in history)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5.5, 4), squeeze=False)
    ax = axes[0][0]
    for key, label in (("train_loss", "train"), ("val_loss", "validation")):
        ys = [r.get(key) for r in history]
        if any(isinstance(y, (int, float)) for y in ys):
            ax.plot(epochs, ys, marker="o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{title}: loss")
    ax.grid(alpha=0.3)
    ax.legend()
    if has_acc:
        ax = axes[0][1]
        for key, label in (("train_accuracy", "train"), ("val_accuracy", "validation")):
            ys = [r.get(key) for r in history]
            if any(isinstance(y, (int, float)) for y in ys):
                ax.plot(epochs, [100 * y if isinstance(y, (int, float)) else None for y in ys], marker="o", ms=3,
                        label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"{title}: accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100, format="png")
    plt.close(fig)


def save_grid(images: torch.Tensor, out: BinaryIO, ncol: int = 8) -> None:
    """(N, C, H, W) images in [0, 1] as one PNG grid, into ``out``."""
    plt = _plt()
    imgs = images.detach().float().cpu().clamp(0, 1)
    if imgs.shape[-1] < 64:  # small images: enlarge (nearest) so the grid is readable
        f = max(1, 96 // imgs.shape[-1])
        imgs = imgs.repeat_interleave(f, -1).repeat_interleave(f, -2)
    n, c, h, w = imgs.shape
    nrow = (n + ncol - 1) // ncol
    grid = torch.ones(c, nrow * (h + 2) + 2, ncol * (w + 2) + 2)
    for i in range(n):
        r, col = divmod(i, ncol)
        grid[:, 2 + r * (h + 2):2 + r * (h + 2) + h, 2 + col * (w + 2):2 + col * (w + 2) + w] = imgs[i]
    arr = grid.permute(1, 2, 0).numpy()
    if c == 1:
        plt.imsave(out, arr[:, :, 0], cmap="gray", vmin=0, vmax=1, format="png")
    else:
        plt.imsave(out, arr, format="png")
