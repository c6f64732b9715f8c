"""One table from ``bench_wholebody.py`` results of many lesion models: how a checkpoint sweep is read (issue 15).

    python benchmarks/sweep_table.py RESULTS_DIR [--reference shipped] [--out table.md]
    python benchmarks/sweep_table.py RESULTS_DIR --pick K      (names of the K models with the fewest NM1 FP / view)
    python benchmarks/sweep_table.py RESULTS_DIR --marked      (names of the rows marked "both")

``RESULTS_DIR`` holds, per model ``NAME``, ``NAME.nm1.json`` (``bench_wholebody.py --source nm1 --nm1-cases 30
--nm1-negatives 30``), ``NAME.phantom.json`` (``--patients 100 --profile default``) and ``NAME.crops.json`` (the
``triage.json`` of ``scintiseg predict CROPS/jpeg --labels CROPS/labels.csv`` on the BS-80K-like region crops of
``benchmarks/make_region_crops.py``), ``NAME.independent.json`` (``bench_independent.py``: the phantom built
without reading scintiseg's), ``NAME.independent2.json`` (``bench_independent.py --generator independent_phantom_2``:
the second one, session 68) and ``NAME.probe.json`` (``bench_misses.py --patients 0 --nm1-cases 0 --probe-regions
humerus,skull --probe-cases 20``: lesions inserted into NM1's humeri and skull), any of them, as
``scripts/gpu_sweep.sh`` writes them. One row per model,
the columns of the tables in docs/robustness.md: NM1 false positives per view, sensitivity and triage AUC; phantom
BSI r with its 95 % bootstrap interval, MAE, triage AUC, false positives per view, and the share of lesions of
apparent contrast 1.5-2 found (what the BSI aim asks of a model, docs/predict.md "What the aim asks of the lesion
model"); the region crops' triage AUC and the specificity of "a lesion found" on them (docs/predict.md "Region
crops"); each independent phantom's false positives per lesion-free view and sensitivity per lesion-view
(docs/robustness.md, "An independently built phantom", "A second independently built phantom"); and of the
lesions of apparent contrast 2 or more inserted into NM1's humeri and skull, those found (the shipped model's
real-background blind spots, docs/robustness.md "Stray pieces of the region map": 12 of 20 and 18 of 21). A missing
file leaves its columns as ``-``.

A row is marked **both** when it beats the reference row (``--reference``, default ``shipped``) on NM1 false
positives per view and on phantom BSI r at once: no CPU fine-tune so far has (docs/robustness.md), so such a
row is the one to look at first. The mark reads two numbers with their noise (the framing alone moves NM1's
false positives by about 0.5 per view and r by 0.03); it is where to look, not a verdict.

``--pick K`` prints, one per line, the K models with the fewest NM1 false positives per view (ties: higher NM1
sensitivity first): the sweep scores every checkpoint on NM1 (60 hybrids, seconds) and only those on the 100
phantom patients (minutes each), the order of choice the shipped model was packaged by (docs/training.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: The apparent-contrast bin the BSI aim needs found (docs/predict.md).
FAINT_BIN = "1.5-2.0"
#: The regions of NM1's region probe a row shows, and the least apparent contrast of the lesions it counts there.
PROBED: tuple[str, ...] = ("humerus", "skull")
PROBE_CONTRAST = 2.0
COLUMNS = ("model", "NM1 FP / view", "NM1 sens.", "NM1 triage AUC", "phantom BSI r (95 % CI)", "MAE",
           "triage AUC", "phantom FP / view", f"found, {FAINT_BIN}", "crops AUC", "crops spec.",
           "indep. FP / view", "indep. sens.", "indep. 2 FP / view", "indep. 2 sens.",
           *(f"NM1 {region}, >= {PROBE_CONTRAST:g}" for region in PROBED), "")
#: The result files of one model: ``NAME.<kind>.json``.
KINDS = ("nm1", "phantom", "crops", "independent", "independent2", "probe")


def read_results(folder: Path) -> dict[str, dict[str, dict]]:
    """``{name: {kind: json}}`` for every ``NAME.<kind>.json`` of :data:`KINDS` in ``folder``."""
    results: dict[str, dict[str, dict]] = {}
    for path in sorted(folder.glob("*.json")):
        name, dot, kind = path.stem.rpartition(".")
        if not dot or kind not in KINDS:
            continue
        try:
            results.setdefault(name, {})[kind] = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: not a readable result ({error})") from None
    return results


def row_numbers(result: dict[str, dict]) -> dict[str, float | None]:
    """The numbers a row shows (None where its file is missing)."""
    nm1, phantom, crops = result.get("nm1"), result.get("phantom"), result.get("crops")
    independent, second = result.get("independent"), result.get("independent2")
    faint = (phantom or {}).get("sensitivity", {}).get("by_contrast", {}).get(FAINT_BIN, {})
    bsi = (phantom or {}).get("bsi", {})
    ci = bsi.get("pearson_r_ci95") or [None, None]
    return {
        "nm1_fp": nm1["false_positives"]["per_view"] if nm1 else None,
        "nm1_sens": nm1["sensitivity_visible"] if nm1 else None,
        "nm1_auc": nm1["triage_auc"] if nm1 else None,
        "r": bsi.get("pearson_r"), "r_low": ci[0], "r_high": ci[1], "mae": bsi.get("mae"),
        "auc": phantom["triage"]["auc"] if phantom else None,
        "fp": phantom["false_positives"]["per_view"] if phantom else None,
        "faint_found": faint.get("found"), "faint_all": faint.get("lesions"),
        "crops_auc": crops.get("triage_auc") if crops else None,
        "crops_spec": (crops.get("operating_point") or {}).get("specificity") if crops else None,
        "ind_fp": independent["false_positives"]["per_view_lesion_free"] if independent else None,
        "ind_sens": independent["sensitivity"]["per_view"] if independent else None,
        "ind2_fp": second["false_positives"]["per_view_lesion_free"] if second else None,
        "ind2_sens": second["sensitivity"]["per_view"] if second else None,
        **{f"probe_{region}": probe_count(result.get("probe"), region) for region in PROBED},
    }


def probe_count(records: list[dict] | None, region: str) -> tuple[int, int] | None:
    """(found, lesions) of apparent contrast :data:`PROBE_CONTRAST` or more among the region probe's ``region`` records
    (``bench_misses.py --json-out``), None without the file."""
    if records is None:
        return None
    conspicuous = [r["found"] for r in records if r.get("source") == f"probe: {region}"
                   and (r.get("apparent_contrast") or 0.0) >= PROBE_CONTRAST]
    return sum(conspicuous), len(conspicuous)


def _count(pair: tuple[int, int] | None) -> str:
    return "-" if pair is None else f"{pair[0]}/{pair[1]}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def beats(row: dict, reference: dict) -> bool:
    """Fewer NM1 false positives per view and a higher phantom BSI r than the reference, both measured."""
    numbers = (row["nm1_fp"], row["r"], reference["nm1_fp"], reference["r"])
    return None not in numbers and row["nm1_fp"] < reference["nm1_fp"] and row["r"] > reference["r"]


def table(results: dict[str, dict[str, dict]], reference: str = "shipped") -> str:
    """The markdown table (reference row first, then by name)."""
    rows = {name: row_numbers(result) for name, result in results.items()}
    ref = rows.get(reference)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name in sorted(rows, key=lambda n: (n != reference, n)):
        r = rows[name]
        ci = f" ({_fmt(r['r_low'], 3)}-{_fmt(r['r_high'], 3)})" if r["r_low"] is not None else ""
        faint = "-" if r["faint_all"] is None else f"{r['faint_found']}/{r['faint_all']} ({r['faint_found'] / max(r['faint_all'], 1):.2f})"
        mark = "**both**" if ref is not None and name != reference and beats(r, ref) else ""  # as marked()
        cells = [name, _fmt(r["nm1_fp"]), _fmt(r["nm1_sens"]), _fmt(r["nm1_auc"], 3), _fmt(r["r"], 3) + ci,
                 _fmt(r["mae"], 3), _fmt(r["auc"], 3), _fmt(r["fp"]), faint, _fmt(r["crops_auc"], 3),
                 _fmt(r["crops_spec"]), _fmt(r["ind_fp"]), _fmt(r["ind_sens"], 3), _fmt(r["ind2_fp"]),
                 _fmt(r["ind2_sens"], 3),
                 *(_count(r[f"probe_{region}"]) for region in PROBED), mark]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def marked(results: dict[str, dict[str, dict]], reference: str = "shipped") -> list[str]:
    """Names of the rows that beat the reference on NM1 false positives and phantom BSI r (by NM1 FP)."""
    rows = {name: row_numbers(result) for name, result in results.items()}
    if reference not in rows:
        return []
    both = [name for name, row in rows.items() if name != reference and beats(row, rows[reference])]
    return sorted(both, key=lambda name: rows[name]["nm1_fp"])


def pick(results: dict[str, dict[str, dict]], k: int) -> list[str]:
    """The ``k`` names with NM1 results and the fewest NM1 false positives per view (ties: higher sensitivity)."""
    scored = [(row["nm1_fp"], -row["nm1_sens"], name) for name, row in
              ((name, row_numbers(result)) for name, result in results.items()) if row["nm1_fp"] is not None]
    return [name for *_, name in sorted(scored)[:k]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path,
                        help="folder of NAME.<kind>.json, kind nm1 / phantom / crops / independent / probe")
    parser.add_argument("--reference", default="shipped", help="row the others are marked against")
    parser.add_argument("--out", type=Path, help="write the table here as well")
    parser.add_argument("--pick", type=int, metavar="K", help="print the K names with the fewest NM1 FP / view")
    parser.add_argument("--marked", action="store_true", help="print the names of the rows marked both")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(f"{args.results}: not a folder", file=sys.stderr)
        return 2
    try:
        results = read_results(args.results)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    if not results:
        print(f"{args.results}: no NAME.nm1.json, NAME.phantom.json or NAME.crops.json in it", file=sys.stderr)
        return 2
    if args.pick is not None or args.marked:
        names = pick(results, args.pick) if args.pick is not None else marked(results, args.reference)
        print("\n".join(names))
        return 0
    text = table(results, args.reference)
    print(text, end="")
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
