"""One small spec per paper table or figure: which training runs make its rows, and the paper's numbers.

Each :class:`ExperimentSpec` lists :class:`Row` objects; a row is a set of :class:`~scintiseg.train.config.TrainConfig`
overrides trained ``runs`` times with seeds 0..runs-1 and evaluated on one shared held-out test set
(:mod:`scintiseg.experiments.test_set`); ``reference`` names the row the others are compared with in
the paired-difference table (:mod:`scintiseg.experiments.paired`): the paper's baseline or its chosen
setting.
The paper's own numbers sit beside each row (None where the seed text does not give them: the texts
lost their tables 3-6 of paper B, only the values quoted in paper B's prose survive).

Settings the papers leave open and we fix here (documented in docs/results.md):

- paper A: thoracic *anterior* views as single images (``input_mode="ant"``), Dice + BCE loss (paper A
  states no loss), the registry's ``default`` widths;
- paper B: RDI-Net with t = 3, semi-supervised Chan-Vese loss ``l_S + 0.4 l_U`` (area weight nu = 0.004, length weight mu = 0
  in Chan & Vese's notation: :mod:`scintiseg.losses`),
  l_S = Dice + BCE; Fig. 7's label shares other than 37 % are not printed in the text, ours are
  0, 0.1, 0.2, 0.37, 0.5, 0.7 (0 = unsupervised: l_U only);
- paper B Fig. 8 / Table 4: t = 1..5 (its text names t = 3 best; the range is the issue's);
- "5 runs" (paper A) and "run 10 times on the test subset" (paper B) are read as independent training
  runs with different seeds, because inference of a trained network is deterministic.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

#: Metrics every experiment table shows (pooled over test pixels), in the papers' order.
TABLE_METRICS: tuple[str, ...] = ("dsc", "recall", "cpa")


@dataclass(frozen=True)
class Row:
    """One table row: a name, TrainConfig overrides, and the paper's values (None: not in the text)."""

    name: str
    overrides: dict[str, Any]
    paper: dict[str, float | None] = field(default_factory=dict)
    x: float | None = None  # position on the plot's x axis (e.g. labelled share, t)


@dataclass(frozen=True)
class ExperimentSpec:
    """A paper table/figure: its rows, default number of runs, base settings and plot kind."""

    name: str
    title: str
    source: str
    rows: tuple[Row, ...]
    runs: int = 5
    base: dict[str, Any] = field(default_factory=dict)
    plot: str = "bars"  # "bars" (one group per row) or "line" (metrics against Row.x)
    x_label: str = ""
    extra_columns: tuple[str, ...] = ()  # e.g. parameters, seconds_per_image
    notes: str = ""
    reference: str | None = None  # the row every other row is compared with (default: the first)

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON-able data (``experiment.json``), so a report needs no registry."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ExperimentSpec":
        """The spec :meth:`to_json` wrote."""
        rows = tuple(Row(**row) for row in data["rows"])
        return cls(**{**data, "rows": rows, "extra_columns": tuple(data.get("extra_columns", ()))})

    @property
    def reference_row(self) -> Row:
        """The row the paired differences are taken against (:attr:`reference`, else the first row)."""
        return next((row for row in self.rows if row.name == self.reference), self.rows[0])


def slug(text: str) -> str:
    """A folder name for a row: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_PAPER_A_BASE = {"input_mode": "ant", "loss": "dice_bce", "epochs": 200, "batch_size": 32, "lr": 1e-4}
#: Paper B's model and loss (RDI-Net t = 3, l_S + 0.4 l_U), shared by its experiments.
PAPER_B_BASE = {
    "model": "rdinet", "model_args": {"t": 3}, "input_mode": "ant", "loss": "chan_vese",
    "supervised_loss": "dice_bce", "alpha": 0.4, "area_weight": 0.004, "length_weight": 0.0, "epochs": 200, "batch_size": 32, "lr": 1e-4,
}


def _a(name, model, args, dsc, recall, cpa):
    return Row(name, {"model": model, "model_args": args}, {"dsc": dsc, "recall": recall, "cpa": cpa})


PAPER_A_TABLE2 = ExperimentSpec(
    name="paper-a-table2",
    title="Paper A Table 2: pooling, DAC and RMP variants of U-Net / DPU-Net",
    source="He et al. 2024 (paper A), Table 2; mean of 5 runs on 62 clinical test images",
    rows=(
        _a("U-Net, max pooling", "unet", {"pooling": "max"}, 0.6086, 0.5157, 0.7467),
        _a("U-Net, average pooling", "unet", {"pooling": "avg"}, 0.6255, 0.5646, 0.7023),
        _a("Fusion", "dpunet", {"pooling": "fusion", "dac": None, "rmp": False}, 0.6291, 0.5431, 0.7476),
        _a("Fusion + raw DAC + RMP", "dpunet", {"pooling": "fusion", "dac": "raw", "rmp": True}, 0.6363, 0.5634, 0.7318),
        _a("Fusion + DAC_1 + RMP", "dpunet", {"pooling": "fusion", "dac": "dac1", "rmp": True}, 0.6363, 0.5419, 0.7553),
        _a("Fusion + DAC_2 + RMP", "dpunet", {"pooling": "fusion", "dac": "dac2", "rmp": True}, 0.6414, 0.5812, 0.7169),
    ),
    runs=5,
    base=_PAPER_A_BASE,
    reference="U-Net, max pooling",
)

_LABEL_SHARES = (0.0, 0.1, 0.2, 0.37, 0.5, 0.7)
PAPER_B_LABELS = ExperimentSpec(
    name="paper-b-labels",
    title="Paper B Fig. 7: DSC / CPA / Recall against the labelled share of training patients",
    source="Lin et al. 2022 (paper B), Fig. 7 on D2; only the 37 % point is in the text",
    rows=tuple(
        Row(f"{share:.0%} labelled", {"labelled": share},
            {"dsc": 0.683, "recall": 0.601, "cpa": 0.715} if share == 0.37 else {}, x=share)
        for share in _LABEL_SHARES
    ),
    runs=3,
    base=PAPER_B_BASE,
    plot="line",
    x_label="labelled share of training patients",
    reference="37% labelled",
    notes="Paper B: at 37 % (840/2280) DSC 0.683, CPA 0.715, Recall 0.601; the other points of Fig. 7 are "
    "not printed in the text. Its unsupervised model (0 %) had the highest Recall.",
)

PAPER_B_RECURRENCE = ExperimentSpec(
    name="paper-b-recurrence",
    title="Paper B Fig. 8 and Table 4: recurrence steps t, parameters and test time",
    source="Lin et al. 2022 (paper B), Fig. 8 / Table 4 on D2 without aggregation; values not in the text "
    "except that t = 3 is best and the largest test time is 4.21 s",
    rows=tuple(
        Row(f"t = {t}", {"model_args": {"t": t}, "labelled": 0.37}, {}, x=float(t)) for t in (1, 2, 3, 4, 5)
    ),
    runs=3,
    base=PAPER_B_BASE,
    plot="line",
    x_label="recurrence steps t",
    extra_columns=("parameters", "seconds_per_image"),
    reference="t = 3",
)

PAPER_B_AGGREGATION = ExperimentSpec(
    name="paper-b-aggregation",
    title="Paper B Fig. 9: single view (D2) against aggregated views (D2_Agg)",
    source="Lin et al. 2022 (paper B), Fig. 9; the text gives DSC 0.683 (D2, 840 labels) and 0.692 "
    "(D2_Agg, 420 labels), and a CPA gain of 0.006 with aggregation",
    rows=(
        Row("single view (ANT)", {"input_mode": "ant", "labelled": 0.37}, {"dsc": 0.683, "recall": 0.601, "cpa": 0.715}),
        Row("aggregated I_Ant + Mirr(I_Post)", {"input_mode": "aggregate", "labelled": 0.37}, {"dsc": 0.692}),
    ),
    runs=3,
    base=PAPER_B_BASE,
    reference="single view (ANT)",
    notes="The single-view rows are scored on ANT and on the mirrored POST of every test patient (two images, "
    "each against its own view's mask); the aggregated rows on one image per patient against the union of both "
    "views' masks. Paired differences pair the rows by patient, not by image.",
)

PAPER_B_COMPARE = ExperimentSpec(
    name="paper-b-compare",
    title="Paper B Table 6: semi-supervised RDI-Net (37 % labels) against U-Net and nnU-Net-style DynUNet (70 %)",
    source="Lin et al. 2022 (paper B), Table 6 on D2_Agg; only the semi-supervised DSC 0.692 is in the text "
    "(the supervised models are 'slightly better')",
    rows=(
        Row("RDI-Net, semi-supervised, 37 % labels", {"labelled": 0.37}, {"dsc": 0.692}),
        Row("U-Net, supervised, 70 % labels", {"model": "unet", "model_args": {"pooling": "max"}, "loss": "dice_bce",
                                                "labelled": 0.7}, {}),
        Row("DynUNet (nnU-Net style), supervised, 70 % labels",
            {"model": "monai_dynunet", "model_args": {}, "loss": "dice_bce", "labelled": 0.7}, {}),
    ),
    runs=3,
    base={**PAPER_B_BASE, "input_mode": "aggregate"},
    reference="RDI-Net, semi-supervised, 37 % labels",
)

#: Paper B Table 3. Its rows train on data sets built per run (D1, D2, D3), so the rows name no data here and
#: the experiment runs through :mod:`scintiseg.experiments.paper_b_augmentation`, not :data:`EXPERIMENTS`.
#: All rows use 100 % labelled patients (paper B: 37 %): G learns masks from every training patient.
PAPER_B_AUGMENTATION = ExperimentSpec(
    name="paper-b-augmentation",
    title="Paper B Table 3: D1 (originals) vs D2 (geometric augmentation) vs D3 (DCGAN samples)",
    source="Lin et al. 2022 (paper B) §3.2 and Table 3; only the D2 row (37 % labels) survives in the text",
    rows=(
        Row("D1 originals", {}, {}),
        Row("D2 geometric augmentation", {}, {"dsc": 0.683, "recall": 0.601, "cpa": 0.715}),
        Row("D3 originals + DCGAN samples", {}, {}),
    ),
    runs=3,
    base={**PAPER_B_BASE, "labelled": 1.0, "fold": 0},
    reference="D1 originals",
    notes="All rows are tested on D1's held-out (real / phantom) patients and validated on fold 0 of D1's "
    "training patients; D2 and D3 hold the same number of training images. All rows use 100 % labelled "
    "patients (paper B: 37 %), because G learns masks from every training patient. See docs/gan.md.",
)

#: Every experiment by name (``scintiseg experiment NAME``).
EXPERIMENTS: dict[str, ExperimentSpec] = {
    spec.name: spec
    for spec in (PAPER_A_TABLE2, PAPER_B_LABELS, PAPER_B_RECURRENCE, PAPER_B_AGGREGATION, PAPER_B_COMPARE)
}
