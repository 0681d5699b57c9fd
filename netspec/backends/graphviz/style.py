"""The look of `netspec draw`: colours by layer family, fills by cluster topology, fonts, number format."""

from __future__ import annotations

# Fill colours by layer family (pastel, readable under black text); unknown families get a stable one.
# The keys are family names (``Node.family``), not layer kinds.
FAMILY_COLORS: dict[str, str] = {
    "conv": "#a6cee3",
    "dense": "#fdbf6f",
    "recurrent": "#cab2d6",
    "attention": "#fb9a99",
    "embedding": "#b2df8a",
    "pool": "#c7e9c0",
    "norm": "#dadaeb",
    "activation": "#eeeeee",
    "reshape": "#fff2ae",
    "regularization": "#f2f2f2",
    "merge": "#ffffff",
    "structure": "#e0ecf4",
    "other": "#e5d8bd",
}
SPARE_COLORS = ("#ccebc5", "#fddaec", "#decbe4", "#fed9a6", "#e5d8bd", "#b3cde3", "#ffffcc")
# How the legend names a family, where its name alone would mislead.
FAMILY_NAMES = {"regularization": "dropout / noise", "reshape": "reshape / pad"}
# Families drawn small (a smaller font) when they have no parameters.
SMALL_FAMILIES = ("activation", "regularization")
# Families left out of a collapsed block's summary of its layers.
MINOR_FAMILIES = ("activation", "norm", "regularization")
MERGE_FAMILY = "merge"
RECURRENT_FAMILY = "recurrent"

BLOCK_FILL = "#f4f1e8"
INPUT_FILL = "#ffffff"
FAILED_FILL = "#f8c4c4"
FAILED_LINE = "#cc0000"
SHORTCUT_COLOR = "#2b6cb0"
SKIP_COLOR = "#6b46c1"
LINK_COLOR = "#c05621"
STATE_COLOR = "#6a3d9a"
# Cluster fills by topology (``GroupInfo.topology``; ``network`` is a whole network's cluster).
NETWORK = "network"
CLUSTER_FILLS = {"skip": "#f3f8fd", "branches": "#fdf8ef", "branch": "#fffdf8", "shortcut": "#eef5fc",
                 NETWORK: "#ffffff"}
CLUSTER_FILL = "#fbfbfb"  # any other cluster
DASHED_CLUSTERS = ("branch", "shortcut")  # a branch of a parallel group, a residual block's shortcut
SHORTCUT_CLUSTERS = ("skip", "shortcut")  # outlined in the shortcut colour
FONT = "Helvetica,Arial,sans-serif"


def family_color(family: str) -> str:
    """The fill of a family's boxes (a stable spare colour for a family not in the table)."""
    if family in FAMILY_COLORS:
        return FAMILY_COLORS[family]
    return SPARE_COLORS[sum(map(ord, family)) % len(SPARE_COLORS)]


def fmt_params(n: int) -> str:
    """A parameter count as boxes show it: ``61,706``, ``1.20 M``, ``23.5 M``."""
    if n >= 10_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M"
    return f"{n:,}"
