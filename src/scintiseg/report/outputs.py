"""Write every output of one predicted scan into a folder.

Per predicted view ``V``: ``V.labelme.json`` (LabelMe, scan embedded, one ``lesion`` polygon per lesion,
``group_id`` = lesion id, then one ``left_out`` polygon per call a reading rule left out, :mod:`scintiseg.predict.
rule_calls`), ``V_mask.png`` (0 = background, 1 = lesion; the LabelMe ``lesion`` polygons rasterised),
``V_overlay.png``, ``V_regions.png`` (the view's skeleton-region map, :func:`write_region_png`). Per scan:
``report.json``, ``report.html`` and, for DICOM input, ``sr.dcm`` (TID 1500) and ``gsps.dcm`` (:mod:`.dicom_out`). Each file is written atomically (:mod:`scintiseg.io.atomic`); the
batch runner also writes the whole folder atomically (:mod:`.batch`).

With ``pdf=True`` (``scintiseg predict --pdf``, opt-in: it costs about 0.17 s a scan and matplotlib's import once,
beyond prediction's budget; :mod:`.report_pdf`) also ``report.pdf`` and, for DICOM input, ``report_pdf.dcm``, the same
bytes as a DICOM Encapsulated PDF in the source's patient and study (:mod:`.dicom_pdf`); ``report.json`` names them
(``pdf``, ``dicom.pdf``).
"""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path

import numpy as np

from scintiseg.display import render_display
from scintiseg.errors import ScintisegError
from scintiseg.io.atomic import atomic_path, write_text_atomic
from scintiseg.io.images import write_label_png, write_mask_png
from scintiseg.io.library_messages import library_messages
from scintiseg.io.labelme import write_labelme
from scintiseg.predict.prediction import Prediction
from scintiseg.predict.regions import SkeletonRegions
from scintiseg.report.dicom_out import read_source_dataset, write_gsps, write_sr
from scintiseg.report.dicom_pdf import write_encapsulated_pdf
from scintiseg.report.html import report_html
from scintiseg.report.overlay import jpeg_bytes, overlay_image, png_bytes, region_map_image
from scintiseg.report.report_json import report_dict, report_json

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
#: ``report.pdf`` as a DICOM Encapsulated PDF (:mod:`.dicom_pdf`).
REPORT_PDF_DICOM = "report_pdf.dcm"


def source_files(prediction: Prediction) -> dict[str, Path] | None:
    """View -> the file it was read from (a study's two files, :mod:`scintiseg.io.view_pairs`, or one file for
    every view); None when there is no source file."""
    scan = prediction.scan
    named = scan.metadata.get("view_sources")
    if isinstance(named, dict) and set(named) == set(scan.view_names):
        return {view: Path(named[view]) for view in scan.view_names}
    return None if scan.source is None else {view: Path(scan.source) for view in scan.view_names}


def is_dicom_source(files: dict[str, Path] | None) -> bool:
    """Whether every source file (:func:`source_files`) is DICOM."""
    if files is None:
        return False
    for source in set(files.values()):
        if not source.is_file():
            return False
        with open(source, "rb") as handle:
            handle.seek(128)
            if handle.read(4) != b"DICM":
                return False
    return True


def write_region_png(regions: SkeletonRegions, path: str | Path) -> None:
    """``V_regions.png``: the view's skeleton-region map (``regions.labels``, the map that named each lesion's bone and
    weighted the BSI) as an 8-bit greyscale PNG whose pixel value is the region id of
    :data:`scintiseg.predict.regions.REGION_NAMES` (27 ids, 0-26: they fit 8 bits; 0 = ``other``: soft tissue,
    background; the id -> name table is ``report.json``'s ``region_ids``), on the grid of ``V_mask.png``: the view as read (POST as acquired, a file
    stood, split or mirrored back as ``input`` says; a scan read head-down turned has its map turned back onto the
    rows as stored, as its masks). A partial view, whose bones are not named, is all 0. Grey values, not a palette:
    every image reader gives back the ids, where a palette's indexes come back as colours from many.

    Why a file: the region map is what names every lesion's bone and weights the Bone Scan Index, and it had been
    measured on phantoms only; written, it can be scored against a reader's skeleton masks
    (``scintiseg evaluate --region-masks``, :mod:`scintiseg.report.region_masks`). Its cost, measured on NM1's view
    (1024 x 256, shipped models; median of 50 writes, three runs, session 73): 2.0-3.2 ms and 4.1 kB, against 26-28 ms
    for all of :func:`write_outputs` on that view without DICOM.
    """
    write_label_png(regions.labels, path)


def write_outputs(prediction: Prediction, folder: str | Path, *, dicom: bool = True, pdf: bool = False) -> dict:
    """Write all outputs of ``prediction`` into ``folder``; returns the report dict (with file names). ``pdf``: also
    ``report.pdf`` and, for DICOM input with ``dicom``, ``report_pdf.dcm`` (module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, str]] = {}
    # The page draws its own numbered outlines over a plain scan background (JPEG: 18x faster than PNG
    # and half the size, measured) and can lay the region map over it on demand; the PDF draws them over the same
    # background, as pixels (no JPEG in a document filed to PACS).
    backgrounds: dict[str, bytes] = {}
    plain: dict[str, np.ndarray] = {}
    region_maps: dict[str, bytes] = {}
    for view, result in prediction.views.items():
        counts = prediction.scan.view(view)
        display = render_display(counts)  # one rendering for the LabelMe image, the overlay and the page
        names = {"labelme": f"{view}.labelme.json", "mask": f"{view}_mask.png", "overlay": f"{view}_overlay.png",
                 "regions": f"{view}_regions.png"}
        write_labelme(result.annotation(), folder / names["labelme"], image=display, image_path=f"{view}.png")
        write_mask_png(result.mask, folder / names["mask"])
        write_region_png(result.regions, folder / names["regions"])
        with atomic_path(folder / names["overlay"]) as tmp:
            tmp.write_bytes(png_bytes(overlay_image(counts, result, display=display)))
        background = overlay_image(counts, result, scale=1, outlines=False, display=display)
        backgrounds[view] = jpeg_bytes(background)
        if pdf:
            plain[view] = np.asarray(background.convert("RGB"))
        region_maps[view] = png_bytes(region_map_image(result.regions))
        files[view] = names
    report = report_dict(prediction, files)
    document = None
    if pdf:
        from scintiseg.report.matplotlib_home import matplotlib_outside_home  # lazy: only with --pdf

        matplotlib_outside_home()  # before matplotlib's first import: HOME left as it was
        from scintiseg.report.report_pdf import report_pdf  # lazy: matplotlib (0.5 s to import) only with --pdf

        document = report_pdf(report, plain)
        with atomic_path(folder / REPORT_PDF) as tmp:
            tmp.write_bytes(document)
    report["dicom"] = {}
    # Outlines of views the reader stood, split from a page or mirrored back are placed back on the source frame
    # exactly (scintiseg.io.stored_points), so every DICOM input gets its SR and GSPS.
    sources = source_files(prediction)
    if dicom and is_dicom_source(sources):
        report["dicom"] = {}
        try:
            with library_messages("pydicom"):  # (said once already, when the scan was read for prediction)
                read = {path: read_source_dataset(path) for path in dict.fromkeys(sources.values())}
            source_ds = {view: read[path] for view, path in sources.items()}
        except ScintisegError as exc:
            source_ds = None
            report["dicom"]["error"] = str(exc)
            neither = "no DICOM SR, GSPS or encapsulated PDF" if document is not None else "no DICOM SR or GSPS"
            warnings.warn(f"{exc}; {neither} written", stacklevel=2)
        if source_ds is not None:
            # highdicom validates the source strictly (its GSPS wants enhanced multi-frame functional groups,
            # which a classic multi-frame NM image lacks); a refusal costs only that one DICOM output.
            # What pydicom and highdicom say on the way (a source's unknown character set, an over-long name) is
            # one warning naming the file, not their own unprefixed lines (session 61: seven for one file).
            writers = [("sr", write_sr, "sr.dcm"), ("gsps", write_gsps, "gsps.dcm")]
            if document is not None:
                writers.append(("pdf", partial(write_encapsulated_pdf, pdf=document), REPORT_PDF_DICOM))
            for key, writer, name in writers:
                failed = None
                with library_messages("pydicom", "highdicom") as said:
                    try:
                        writer(prediction, source_ds, folder / name)
                        report["dicom"][key] = name
                    except (ValueError, TypeError, AttributeError, KeyError) as exc:
                        failed = exc
                if failed is None:
                    said.warn_once(prediction.scan.source, done=f"{name} written")
                else:
                    warnings.warn(f"{prediction.scan.source}: no DICOM {key.upper()} written ({failed})", stacklevel=2)
                    report["dicom"][f"{key}_error"] = f"{type(failed).__name__}: {failed}"
    elif not dicom:
        report["dicom"] = {"note": "disabled"}
    else:
        report["dicom"] = {"note": "no DICOM output: the input is not DICOM"}
    if document is not None:
        report["pdf"] = REPORT_PDF
    write_text_atomic(folder / REPORT_JSON, report_json(report))
    write_text_atomic(folder / REPORT_HTML, report_html(report, backgrounds, region_maps))
    return report
