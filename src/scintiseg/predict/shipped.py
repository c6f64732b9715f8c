"""Package a trained run as the model shipped inside scintiseg (``scintiseg/weights/phantom_lesions.pt``).

The shipped model makes ``scintiseg predict`` work on a fresh install. It is a small network trained on
synthetic phantom scans only; every report it produces says so (``SYNTHETIC_DISCLAIMER`` in :mod:`.loader`).
Since issue 13 it is paper B's ``rdinet`` (preset ``small``), chosen by measurement among four networks
(docs/robustness.md), trained on phantoms made on the fly from the domain-randomised profile, degraded like
real archives, at 2.26 mm on windows of the whole body. Recipe (``scripts/train_shipped_model.sh`` runs it;
this module does the last step, which the developers' script ``scripts/package_shipped.py`` runs)::

    MODEL=rdinet bash scripts/train_shipped_model.sh runs/shipped
    python scripts/package_shipped.py --run runs/shipped --trained-on "..." --command "..."

Packaging keeps only what prediction needs (weights, ``model_config``, the training and data config, the
epoch and best validation score), drops the optimizer and RNG state (the file shrinks about threefold), and
adds a ``shipped`` record: what the model was trained on, whether on phantoms only (``synthetic``: unless the run's
``data`` says it learned from real patients' or a site's scans), the command that made it.
The file still loads with :func:`scintiseg.models.checkpoint.load_checkpoint` (``weights_only=True``).
"""

from __future__ import annotations

from pathlib import Path

from scintiseg.formats import provenance
from scintiseg.models.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from scintiseg.predict.loader import SHIPPED_WEIGHTS


def prediction_state(state: dict) -> dict:
    """What prediction needs of a training checkpoint: weights, ``model_config``, the training and data config,
    the epoch and best validation score; the optimizer's and RNG state and the history dropped (about a third of
    the size). ``scripts/gpu_sweep.sh pick`` writes its candidates this way too."""
    return {
        "epoch": state.get("epoch"),
        "model": state["model"],
        "model_config": state["model_config"],
        "config": state.get("config", {}),
        # the input contract (scintiseg.formats.InputContract) and provenance, as training recorded them
        "data": state.get("data", {}),
        "best": state.get("best", {}),
    }


def package_run(run: str | Path, trained_on: str, out: str | Path = SHIPPED_WEIGHTS, command: str = "") -> Path:
    """Write the shipped checkpoint built from ``run`` (a run folder or a checkpoint file) to ``out``.

    The run's checkpoint is read like any other (``weights_only=True``, format and keys checked), and the
    written file carries the current format tags.
    """
    run = Path(run)
    source = checkpoint_path(run, "best") if run.is_dir() else run
    slim = prediction_state(load_checkpoint(source))
    slim["shipped"] = {
        "trained_on": trained_on,
        # phantoms only unless the run says it learned from real or a site's scans (scintiseg.train.loop.learned_from;
        # before session 61 every packaged run was written synthetic)
        "synthetic": not provenance([slim["data"]]),
        "command": command,
        "source_run": str(run),
    }
    return save_checkpoint(slim, out)
