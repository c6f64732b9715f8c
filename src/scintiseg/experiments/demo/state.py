"""What the demo's steps found out: the content of ``demo.json`` and the input of ``report.md``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DemoState:
    """What the steps found out, for the report and ``demo.json``.

    Args:
        settings: the demo's settings (``asdict(DemoSettings)``) and the CPUs available.
        timings: seconds per step, in the order the steps ran.
        skipped: steps reused from an earlier run into the same folder.
        metrics: test metrics per network key (``evaluate_run``'s result).
        comparison: DPU-Net minus U-Net per metric on the same test images, with its paired bootstrap interval over
            the test patients and a verdict, or ``{"skipped": reason}``
            (:func:`~scintiseg.experiments.demo.comparison.compare_networks`).
        runs: each run's ``summary.json``, the torch threads used and the split sizes (``data``).
        predictions: per predicted whole-body scan, what the report says about it (or why it was skipped).
        load_average: the load averages at ``start`` and ``end``.
    """

    settings: dict
    timings: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    metrics: dict[str, dict] = field(default_factory=dict)
    comparison: dict = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)
    predictions: dict[str, dict] = field(default_factory=dict)
    load_average: dict[str, list[float]] = field(default_factory=dict)
