"""scintiseg.experiments: the papers' tables and figures as runnable specs (train, evaluate, tabulate).

Example::

    from scintiseg.experiments import EXPERIMENTS, run_experiment
    run_experiment("paper-a-table2", data="data/crops", runs=2, settings={"epochs": 20})
"""

from scintiseg.experiments.runner import run_experiment
from scintiseg.experiments.specs import EXPERIMENTS, ExperimentSpec, Row

__all__ = ["EXPERIMENTS", "ExperimentSpec", "Row", "run_experiment"]
