"""Which scan and view each LabelMe file of a data-set import belongs to (:mod:`scintiseg.io.importer`, "Labels"):
by file stem or ``imagePath``, view by the file's suffix, key or folder, an outline drawn on a file as stored turned
and cut as its scan was; a person's outline first, a confident prediction (a pseudo-label) after."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io.file_keys import scan_stem
from scintiseg.io.import_sources import ImportReport, ScanSource, file_sha256, recorded
from scintiseg.io.labelme import read_labelme
from scintiseg.io.not_scans import prediction_report
from scintiseg.io.predicted_labels import predicted_view, pseudo_label_doubt, unedited_prediction
from scintiseg.io.reader_labels import reader_lesions
from scintiseg.scan import Annotation, Scan, mask_to_shapes

_VIEW_SUFFIX = re.compile(r"^(?P<stem>.+)_(?P<view>ANT|POST)$", re.IGNORECASE)


def _label_keys(path: Path, annotation: Annotation) -> list[tuple[str, str | None]]:
    """(scan stem, view named by an ``_ANT``/``_POST`` suffix or None) the file may belong to, by priority:
    its own stem, then its ``imagePath``'s."""
    keys: list[tuple[str, str | None]] = []
    view = predicted_view(path)
    if view is not None:  # OUT/<scan>/ANT.labelme.json: the report names the scan, the folder is named after it
        report = prediction_report(path.parent) or {}
        given = report.get("input") if isinstance(report.get("input"), dict) else {}
        # A study predicted from two files (scintiseg.io.view_pairs) names each view's own file.
        per_view = given.get("view_sources") if isinstance(given.get("view_sources"), dict) else {}
        source = per_view.get(view) or given.get("source")
        named = [scan_stem(str(source).replace("\\", "/"))] if source else []
        for stem in [*named, path.parent.name]:
            if (stem, view) not in keys:
                keys.append((stem, None if view == "VIEW" else view))
    stems = [path.stem]
    if annotation.image_path:
        stems.append(scan_stem(annotation.image_path.replace("\\", "/")))
    for stem in stems:
        match = _VIEW_SUFFIX.match(stem)
        for key in ([(match["stem"], match["view"].upper())] if match else []) + [(stem, None)]:
            if key not in keys:
                keys.append(key)
    return keys


def _pick(candidates: list[ScanSource], json_path: Path, json_root: Path) -> ScanSource | None:
    """The one scan among same-stem ``candidates``: alone, in the annotation's folder, or at its relative folder."""
    if len(candidates) == 1:
        return candidates[0]
    here = [s for s in candidates if s.path.parent.resolve() == json_path.parent.resolve()]
    if len(here) == 1:
        return here[0]
    relative = json_path.parent.relative_to(json_root) if json_root != json_path else Path()
    mirrored = [s for s in candidates if s.relative_folder == relative]
    return mirrored[0] if len(mirrored) == 1 else None


def _target_view(scan: Scan, annotation_view: str, suffix_view: str | None) -> tuple[str | None, str]:
    """The scan view an annotation goes to, or (None, why not)."""
    view = annotation_view if annotation_view != "VIEW" else (suffix_view or "VIEW")
    names = scan.view_names
    if len(names) == 1:
        if names[0] == "VIEW" or view in ("VIEW", names[0]):
            return names[0], ""
        return None, f"annotation is for view {view}, the scan has only {names[0]}"
    if view == "VIEW":
        return None, f"the scan has views {' and '.join(names)}; name the view (<stem>_ANT.json or a \"view\" key)"
    if view not in names:
        return None, f"annotation is for view {view}, the scan has {', '.join(names)}"
    return view, ""


def match_labels(
    jsons: list[tuple[Path, Path]], scans: list[ScanSource], read_root: Path, report: ImportReport,
    pseudo_threshold: float | None = None, labels: dict[str, int] | None = None,
) -> None:
    """Attach each LabelMe file to its scan and view (``ScanSource.annotations``); list the others.

    With ``pseudo_threshold``, a confident unedited prediction (:func:`~.predicted_labels.pseudo_label_doubt`) is matched as a
    pseudo-label after every other file, so that a person's outline for the same view wins.
    Every file is attached as its lesions (:func:`~.reader_labels.reader_lesions` with the data set's manifest
    ``labels``: ``Metastasis`` or ``mets`` labelled ``lesion``, the data set's lesion label; a call left out or a finding
    labelled ``bladder`` dropped); one with a label that says neither is listed with the shape and label.
    A file whose ``imagePath`` names an image that is not there (a folder of outlines moved or renamed with its scans;
    no ``imageData`` embedded) is read by its declared ``imageHeight`` x ``imageWidth`` and matched like any other, by
    its stem or its ``imagePath``'s, the scan it matches being its image: a size that is not that scan's view size is
    a size mismatch, and a file no scan matches is listed as a stale imagePath (before, every such file was listed
    "unreadable", though its name said its scan: the researcher audit's finding 4). Without a declared size it stays
    unreadable (nothing says which pixels its points are on).
    """
    by_stem: dict[str, list[ScanSource]] = {}
    for source in scans:
        for stem in source.stems:
            by_stem.setdefault(stem, []).append(source)
    confident: list[tuple[Path, Path, Annotation, str, str]] = []
    for json_path, json_root in jsons:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                # A prediction's file saved by LabelMe without its image data names an image that is not there: the
                # scan is the image (the counts always come from it), so its declared size is enough.
                predicted = predicted_view(json_path) is not None and prediction_report(json_path.parent) is not None
                stale = ""
                try:
                    annotation = read_labelme(json_path, root=read_root, image_optional=predicted)
                except ScintisegError as exc:
                    if predicted:
                        raise
                    # Read again by its declared size: only a missing image makes the second read succeed where the
                    # first failed, and then the imagePath is stale (a folder moved or renamed with its scans) and
                    # the scan the file's name matches is the image (_attach checks the size against it).
                    stale = exc.problem
                    caught.clear()  # (said again by the second read)
                    annotation = read_labelme(json_path, root=read_root, image_optional=True)
            digest = file_sha256(json_path)
        except ScintisegError as exc:
            report.unmatched_labels.append((str(json_path), f"unreadable: {exc.problem}"))
            continue
        except OSError as exc:
            report.unmatched_labels.append((str(json_path), f"unreadable: {exc}"))
            continue
        recorded(report, json_path, caught)
        try:
            unedited = unedited_prediction(json_path, annotation)
            lesions = reader_lesions(annotation, json_path, labels=labels)
        except ScintisegError as exc:  # a label that says neither lesion nor not (reader_labels)
            report.unmatched_labels.append((str(json_path), exc.problem))
            continue
        if unedited and pseudo_threshold is not None:
            doubt = pseudo_label_doubt(json_path, annotation, pseudo_threshold)
            if doubt:
                report.unmatched_labels.append((str(json_path), f"{doubt} (an unedited prediction: left unlabelled, "
                                                "no pseudo-label)"))
            else:
                confident.append((json_path, json_root, lesions, digest, stale))
            continue
        if unedited:
            report.unmatched_labels.append((str(json_path), f"an unedited prediction (its outline equals {unedited} "
                                            "beside it): correct it in LabelMe first; a model's own output is not imported "
                                            "as labels"))
            continue
        _attach(json_path, json_root, lesions, by_stem, report, pseudo=False, digest=digest, stale=stale)
    for json_path, json_root, annotation, digest, stale in confident:
        _attach(json_path, json_root, annotation, by_stem, report, pseudo=True, digest=digest, stale=stale)


def _attach(json_path: Path, json_root: Path, annotation: Annotation, by_stem: dict[str, list[ScanSource]],
            report: ImportReport, *, pseudo: bool, digest: str = "", stale: str = "") -> None:
    """Attach one LabelMe file to its scan's view, or list it with the reason (see :func:`match_labels`). A file whose
    bytes (``digest``, SHA-256) were already imported into that view (``ScanSource.imported_labels``) is passed over
    quietly, before it can take the view from a newer file of the same run (session 63). ``stale``: why the image its
    ``imagePath`` names was not found (the file was read by its declared size): it goes to the scan its name matches
    as any file does, its size checked against that scan's; with no scan matching, it is listed as stale, not as
    unreadable (the researcher audit's finding 4)."""
    predicted = predicted_view(json_path) is not None
    reason = "no scan with this file stem or imagePath"
    if stale:
        reason = (f"stale imagePath: {stale.removeprefix('imagePath ')}, and no scan has this file's stem or the "
                  "imagePath's: give the scan among the sources, or name the file after it (<scan>_ANT.json)")
    if predicted:
        reason = ("no scan matches this prediction: import the scan it was predicted from (give it as SRC); the "
                  "image embedded in the file is a display rendering, not counts")
    for stem, suffix_view in _label_keys(json_path, annotation):
        candidates = by_stem.get(stem.lower(), [])
        if not candidates:
            continue
        source = _pick(candidates, json_path, json_root)
        if source is None:
            reason = f"ambiguous: {len(candidates)} scans are named {stem}"
            break
        as_stored = source.stored_shape is not None and annotation.image_shape == source.stored_shape != source.scan.shape
        if as_stored and not source.view_files:  # drawn on the one file as stored: every view it holds
            if digest and all(digest in source.imported_labels.get(name, ()) for name in source.scan.view_names):
                reason = ""  # imported before: a re-run changes nothing
                break
            reason = _attach_as_stored(json_path, annotation, source, pseudo=pseudo, predicted=predicted,
                                       digest=digest)
            break
        if suffix_view is None and annotation.view == "VIEW" and source.view_files:
            suffix_view = source.view_named_by(stem, json_path)
        view, reason = _target_view(source.scan, annotation.view, suffix_view)
        if view is None:
            break
        if digest and digest in source.imported_labels.get(view, ()):  # imported before: a re-run changes nothing
            reason = ""
            break
        if as_stored:  # drawn on one view's own file of a study's two, as stored
            reason = _attach_as_stored(json_path, annotation, source, pseudo=pseudo, predicted=predicted, view=view,
                                       digest=digest)
            break
        if annotation.image_shape != source.scan.shape:
            reason = (f"size mismatch: labels are for a {annotation.image_shape[0]}x{annotation.image_shape[1]} "
                      f"image, {source.path.name} is {source.scan.shape[0]}x{source.scan.shape[1]}"
                      + (f" as read ({source.stored_shape[0]}x{source.stored_shape[1]} as stored)"
                         if source.stored_shape is not None else "")
                      + (" (the size the file declares: its imagePath is stale)" if stale else ""))
            break
        if view in source.annotations:
            reason = f"{source.path.name} view {view} already has labels from {source.annotations[view][0]}"
            if pseudo:
                reason += " (a pseudo-label never replaces other labels)"
            break
        source.annotations[view] = (json_path, annotation)
        if digest:
            source.label_sha256[view] = digest
        if pseudo:
            source.pseudo.add(view)
        elif predicted:
            source.corrected.add(view)
        reason = ""
        break
    if reason:
        report.unmatched_labels.append((str(json_path), reason))


def _attach_as_stored(json_path: Path, annotation: Annotation, source: ScanSource, *, pseudo: bool, predicted: bool,
                      view: str | None = None, digest: str = "") -> str:
    """Attach an outline drawn on the file as stored to a stood or split ``source`` (:mod:`scintiseg.io.importer`), each label
    rasterised, turned and cut as the scan was (:meth:`ScanSource.read_frame`) and outlined again, so each view's mask
    is exactly the part of the drawn one; a page's outline labels both views (an empty view: no lesion there);
    ``view``: the one view whose own file it was drawn on (a study's two files). The reason it cannot be attached,
    or ``""``."""
    if view is None and annotation.view not in ("VIEW", *source.scan.view_names):
        return f"annotation is for view {annotation.view}, drawn on {source.path.name} as stored (one image)"
    targets = [view] if view else source.scan.view_names
    taken = [name for name in targets if name in source.annotations]
    if taken:
        return f"{source.path.name} view {taken[0]} already has labels from {source.annotations[taken[0]][0]}"
    shapes: dict[str, list] = {name: [] for name in targets}
    for label in annotation.labels:
        for name, mask in source.read_frame(annotation.filter([label]).to_mask(), view).items():
            shapes[name] += mask_to_shapes(mask, label=label)
    for name, found in shapes.items():
        source.annotations[name] = (json_path, Annotation(found, source.scan.view(name).shape, view=name,
                                                          image_path=annotation.image_path, flags=dict(annotation.flags)))
        if digest:
            source.label_sha256[name] = digest
        if pseudo:
            source.pseudo.add(name)
        elif predicted:
            source.corrected.add(name)
    return ""
