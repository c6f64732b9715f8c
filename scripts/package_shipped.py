"""Package a trained run as the model shipped inside scintiseg (``src/scintiseg/weights/phantom_lesions.pt``).

A developers' tool, not a command of the package: it writes into the source tree the weights that
``scintiseg predict`` loads by default. The library half (what is kept, the ``shipped`` record) is
:func:`scintiseg.predict.shipped.package_run`; ``scripts/train_shipped_model.sh`` (``PACKAGE=1``) calls this script
after training.

    .venv/bin/python scripts/package_shipped.py --run runs/shipped --trained-on "..." --command "..."

Exit code 0: written; 2: bad arguments, or a run that cannot be packaged (one line naming the file, as the
``scintiseg`` command says its errors).
"""

from __future__ import annotations

import argparse
import sys

from scintiseg.errors import ScintisegError
from scintiseg.predict.loader import SHIPPED_WEIGHTS
from scintiseg.predict.shipped import package_run

PROG = "package_shipped.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="training run folder (uses checkpoints/best.pt) or checkpoint")
    parser.add_argument("--trained-on", required=True, help="one line: the phantom cohort the model was trained on")
    parser.add_argument("--out", default=str(SHIPPED_WEIGHTS), help=f"output (default {SHIPPED_WEIGHTS})")
    parser.add_argument("--command", default="", help="the full command line that trained the run, recorded in the file")
    args = parser.parse_args(argv)
    try:
        path = package_run(args.run, args.trained_on, args.out, args.command)
    except ScintisegError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
