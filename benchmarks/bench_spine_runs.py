"""Runs of involved vertebrae on the real NM1 scan: called, left out by the spine rule, or missed by the network.

    OMP_NUM_THREADS=2 python benchmarks/bench_spine_runs.py [--factors 1.5 2 3] [--draws 2] [--model M|A,B]
        [--no-spine-pattern] [--json-out X.json]

The spine rule (:mod:`scintiseg.predict.spine_pattern`) reads a vertebra against its neighbours, so a segment
involved level after level is its weak case; the phantoms rarely draw one. This benchmark makes such runs on a real
background: NM1's anterior view (real counts and anatomy, ``../shared/data/real``), whose learned region map (the
plain scan's, through the shipped region network) gives each spinal segment's vertebral level
(:func:`~scintiseg.predict.spine_pattern.vertebral_level`, the rows of the segment's pieces over its vertebrae) and
column. Vertebra ``k`` of a segment is an ellipse :data:`BODY_HEIGHT_SHARE` of a level tall and
:data:`BODY_WIDTH_MM` wide about the segment's middle column on the rows of level ``k``; a run of consecutive
vertebrae is made ``factor`` times as hot over those ellipses (the added counts, ``factor - 1`` times NM1's counts
smoothed by a Gaussian of sigma 1 pixel, blurred by :data:`BLUR_PX` pixels as a camera would and drawn as Poisson
counts; ``--draws`` noise draws per case). Cases (:func:`cases`): the lumbar spine's runs of 1 to 5 vertebrae from
every start (L1-L5), and the thoracic spine's runs of 1, 3, 5 and 7 from T5. Each inserted vertebra is *called*
(a lesion of the prediction touches it), *left out* (a call the spine rule left out touches it) or *missed*; the
other calls are the prediction's lesions farther than 3 pixels from every inserted vertebra (NM1's own lumbar focus
among them, so compare them between runs, not with zero); for the missed vertebrae, the median of the network's
largest probability over each (how far below the threshold the network's blind spot lies: compare models with
``--model``). One run: the draws are seeded, so a second run prints the same. Session 41's numbers are in
docs/robustness.md ("The bladder below an involved lumbar spine").
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.predict.loader import load_models
from scintiseg.predict.pipeline import PredictSettings, predict_scan
from scintiseg.predict.regions import REGION_IDS
from scintiseg.predict.spine_pattern import segment_pieces, vertebral_level
from scintiseg.scan import Scan

HERE = Path(__file__).resolve().parent
NM1 = HERE.parent.parent / "shared" / "data" / "real" / "nema-wg04-nm1-wholebody.dcm"
#: An inserted vertebral body's height, as a share of the vertebral level.
BODY_HEIGHT_SHARE: float = 0.76
#: An inserted vertebral body's width (mm).
BODY_WIDTH_MM: float = 36.0
#: Gaussian sigma (pixels) of the added counts: the camera's blur.
BLUR_PX: float = 1.2
#: A call within this many pixels of an inserted vertebra is on it; farther, one of the other calls.
NEAR_PX: int = 3
STATES = ("called", "left out", "missed")


def segment_geometry(labels: np.ndarray, segment: str) -> tuple[float, np.ndarray, int]:
    """(vertebral level in rows, the segment's pieces (:func:`~scintiseg.predict.spine_pattern.segment_pieces`),
    their first row) on a learned region map, as the spine rule reads the level."""
    if not (labels == REGION_IDS[segment]).any():
        raise ValueError(f"the region map names no {segment}")
    body = segment_pieces(labels, REGION_IDS[segment])
    return vertebral_level(labels, REGION_IDS[segment]), body, int(np.flatnonzero(body.any(axis=1)).min())


def vertebra_mask(shape: tuple[int, int], geometry: tuple[float, np.ndarray, int], k: int,
                  pixel_mm: tuple[float, float]) -> np.ndarray:
    """The ellipse of vertebra ``k`` (0: the segment's first) of a segment's ``geometry`` (:func:`segment_geometry`)."""
    level, body, top = geometry
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    centre = top + (k + 0.5) * level
    band = body & (np.abs(rows - centre) < 0.5 * level)
    if not band.any():
        raise ValueError(f"vertebra {k} lies beyond the segment's mapped rows")
    middle = float(np.median(cols[band]))
    half_height, half_width = 0.5 * BODY_HEIGHT_SHARE * level, 0.5 * BODY_WIDTH_MM / pixel_mm[1]
    return ((rows - centre) / half_height) ** 2 + ((cols - middle) / half_width) ** 2 <= 1


def insert_run(counts: np.ndarray, masks: list[np.ndarray], factor: float, rng: np.random.Generator) -> np.ndarray:
    """``counts`` with each of ``masks`` made ``factor`` times as hot (module docstring), as float32 counts."""
    counts = np.asarray(counts, dtype=np.float64)
    smooth = ndi.gaussian_filter(counts, 1.0)
    extra = sum(ndi.gaussian_filter((factor - 1.0) * smooth * mask, BLUR_PX) for mask in masks)
    return (counts + rng.poisson(np.maximum(extra, 0.0))).astype(np.float32)


def vertebra_states(result, masks: list[np.ndarray]) -> tuple[list[str], int]:
    """Each inserted vertebra's state in one view's prediction ``result`` (called, left out by the spine rule or
    missed), and the number of other calls (lesions farther than :data:`NEAR_PX` from every inserted vertebra)."""
    called = np.asarray(result.labels) > 0
    left = np.zeros_like(called)
    for call in result.left_out:
        if call.rule == "spine_pattern":
            left |= call.contour.to_mask(called.shape)
    states = ["called" if (called & mask).any() else "left out" if (left & mask).any() else "missed" for mask in masks]
    inserted = np.any(masks, axis=0) if masks else np.zeros_like(called)
    other = called & ~ndi.binary_dilation(inserted, iterations=NEAR_PX)
    return states, int(ndi.label(other, structure=np.ones((3, 3)))[1])


def cases() -> list[tuple[str, int, int]]:
    """(segment, first vertebra (0-based), run length): lumbar runs of 1-5 at every start, thoracic 1, 3, 5, 7 from
    T5."""
    lumbar = [("lumbar_spine", first, run) for run in range(1, 6) for first in range(5) if first + run <= 5]
    return lumbar + [("thoracic_spine", 4, run) for run in (1, 3, 5, 7)]


def summary(records: list[dict]) -> str:
    """A markdown table: per segment, run length and factor, the vertebrae called / left out / missed and the other
    calls."""
    lines = ["| segment | vertebrae in a row | hotter by | called / left out / missed | other calls | missed: largest "
             "probability (median) |", "|---|---|---|---|---|---|"]
    keys = sorted({(r["segment"], r["run"], r["factor"]) for r in records}, key=lambda k: (k[0] != "lumbar_spine", k))
    for segment, run, factor in keys:
        group = [r for r in records if (r["segment"], r["run"], r["factor"]) == (segment, run, factor)]
        states = Counter(state for r in group for state in r["states"])
        lines.append(f"| {segment} | {run} | {factor:g} | {' / '.join(str(states[s]) for s in STATES)} | "
                     f"{sum(r['other_calls'] for r in group)} | {_missed_probability(group)} |")
    totals = Counter(state for r in records for state in r["states"])
    lines.append(f"| **all** | | | **{' / '.join(str(totals[s]) for s in STATES)}** | "
                 f"{sum(r['other_calls'] for r in records)} | {_missed_probability(records)} |")
    return "\n".join(lines)


def _missed_probability(records: list[dict]) -> str:
    """The median of the network's largest probability over the missed vertebrae of ``records`` ("-": none missed,
    or records without probabilities)."""
    values = [p for r in records for state, p in zip(r["states"], r.get("max_probability", [])) if state == "missed"]
    return f"{np.median(values):.3f}" if values else "-"


def run(args) -> list[dict]:
    """Every case of :func:`cases` at every factor and draw, through the whole pipeline (module docstring)."""
    scan = read_scan(args.scan)
    if "ANT" not in scan.view_names:
        raise ScintisegError("no anterior view", path=args.scan)
    model = load_models(args.model.split(",") if args.model else [None], engine="torch")  # comma-joined: their mean
    settings = PredictSettings(spine_pattern=not args.no_spine_pattern)
    counts = np.asarray(scan.view("ANT"), dtype=np.float64)
    labels = np.asarray(predict_scan(scan, model, settings).views["ANT"].regions.labels)
    geometry = {name: segment_geometry(labels, name) for name in ("lumbar_spine", "thoracic_spine")}
    records = []
    for (segment, first, length), factor, draw in itertools.product(cases(), args.factors, range(args.draws)):
        masks = [vertebra_mask(counts.shape, geometry[segment], first + j, scan.pixel_spacing) for j in range(length)]
        rng = np.random.default_rng([draw, first, length, int(round(100 * factor))])
        hot = Scan(views={"ANT": insert_run(counts, masks, factor, rng)}, pixel_spacing=scan.pixel_spacing,
                   patient_id="NM1RUN")
        result = predict_scan(hot, model, settings).views["ANT"]
        states, other = vertebra_states(result, masks)
        probability = np.asarray(result.probability)
        records.append({"segment": segment, "first": first, "run": length, "factor": factor, "draw": draw,
                        "states": states, "other_calls": other,
                        "max_probability": [round(float(probability[mask].max()), 4) for mask in masks]})
        print(f"  {segment} from {first + 1}, {length} in a row, x{factor:g}, draw {draw}: {', '.join(states)}; "
              f"{other} other calls", file=sys.stderr)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan", type=Path, default=NM1, help="a whole-body scan with an anterior view (NM1)")
    parser.add_argument("--model", default=None,
                        help="lesion model (default: the shipped one); A,B: the mean of their probabilities")
    parser.add_argument("--factors", type=float, nargs="+", default=[1.5, 2.0, 3.0])
    parser.add_argument("--draws", type=int, default=2, help="noise draws per case")
    parser.add_argument("--no-spine-pattern", action="store_true", help="keep every call on the spine")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    import torch  # lazy: start-up time: only a run needs torch, not --help or the tests' import

    torch.set_num_threads(args.threads)
    try:
        records = run(args)
    except ScintisegError as error:  # an unreadable scan, no anterior view
        print(f"bench_spine_runs: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # a region map without the segment, or shorter than a run
        print(f"bench_spine_runs: {args.scan}: {error}", file=sys.stderr)
        return 2
    print(f"{args.scan.name}, ANT: runs of vertebrae made hotter, {args.draws} draws each"
          + (", spine rule off" if args.no_spine_pattern else ""))
    print(summary(records))
    if args.json_out:
        args.json_out.write_text(json.dumps(records, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
