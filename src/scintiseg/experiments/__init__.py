"""scintiseg.experiments: the papers' tables and figures as runnable specs (train, evaluate, tabulate).

The specs (:mod:`~scintiseg.experiments.specs`) are plain data; :mod:`~scintiseg.experiments.runner`
trains and evaluates them, :mod:`~scintiseg.experiments.paper_b_augmentation` builds paper B's D1, D2
and D3 data sets first. This package imports only the specs, so listing them stays fast.

Example::

    from scintiseg.experiments import EXPERIMENTS
    from scintiseg.experiments.runner import run_experiment
    run_experiment("paper-a-table2", data="data/crops", runs=2, settings={"epochs": 20})
"""

from scintiseg.experiments.specs import EXPERIMENTS, PAPER_B_AUGMENTATION, ExperimentSpec, Row

__all__ = ["EXPERIMENTS", "PAPER_B_AUGMENTATION", "ExperimentSpec", "Row"]
