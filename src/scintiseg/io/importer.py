"""Import a folder of a department's own scans as a data set (``scintiseg dataset import``, issue 16).

Walks the given files and folders (recursively, in sorted order, skipping hidden names, the output
folder, DICOM objects without an image found in a folder (a CD export's DICOMDIR, SR, presentation states:
:mod:`scintiseg.io.not_scans`) and Pascal VOC ``.xml`` files, which ``scintiseg annotations from-boxes`` turns into
outlines) and writes a data set in the layout of :mod:`scintiseg.io.dataset` that ``scintiseg dataset
check`` passes:

* **Scans**: every file :func:`scintiseg.io.read_scan` reads (DICOM, 16-bit PNG or TIFF, ``.npy``) becomes
  one case. Its image is copied byte for byte to ``images/<case><suffix>`` (atomically), or hard-linked
  there with ``link=True`` (no second copy on disk; a symlink would point outside the data set folder,
  which :func:`scintiseg.io.dataset.resolve` refuses; across file systems, where no hard link can be made,
  the file is copied with a warning); an Interfile study (a header and its data file, :mod:`scintiseg.io.interfile`)
  is written as the one DICOM file :func:`~scintiseg.io.dicom.write_dicom` makes of it, and its data file is not
  a case of its own; so is a MetaImage header whose data lie in a file of their own (``.mhd`` + ``.raw``). DICOM keeps its views (a two-frame NM file is one ANT+POST case), a plain image is one
  ``VIEW``. An 8-bit PNG/TIFF is accepted with one warning per file: it is a display export (windowed grey
  levels), not counts, and is marked ``meta["display_export"]``. A file that cannot be read is skipped
  and listed with the reader's one-line reason; nothing raises on a bad file.
* **A study's two files**: a study whose ANT and POST views are stored as two files (GE's one Secondary Capture
  per view, BS-80K's ``wholeBodyANT/`` and ``wholeBodyPOST/`` JPEGs, ``0123_ANT.png`` + ``0123_POST.png``) is
  one ANT+POST case, found and joined by the rules ``scintiseg predict`` uses (:mod:`scintiseg.io.view_pairs`),
  so that paper B's two-view models train on it and a prediction's corrected outlines of either view come back
  to it. Its image is the one DICOM file :func:`~scintiseg.io.dicom.write_dicom` makes of the two (views, pixel
  size, ids; never hard-linked), named by what the two names share (``0123``, the case id, and with
  ``patient_from="stem"`` the patient id of files that name none). ``meta["source"]`` is the anterior file,
  ``meta["view_sources"]`` and ``meta["view_sha256"]`` name and fingerprint each view's file. A LabelMe file
  named after one view's file (``0123_ANT.json``, ``wholeBodyPOST/0001.json``) is that view's. Two files stay
  two cases (one-view, as before) when either is already a case of the data set, when they cannot be one scan
  (other matrices or pixel sizes, one holding the body lying and the other standing: a warning says why), when
  ``orient`` reads them otherwise, one alone and then the other (session 28: one stored head-down, or stood the
  other way; joined, a case records one turn for both views), or with ``join=False`` (``--no-join-views``). Two
  files read apart keep the study's patient (``0123``) where the patient comes from the file name, so a split
  keeps them together, and each is named the view its name says.
* **Labels**: every ``.json`` file under the sources and under ``labels_dir`` is a LabelMe candidate,
  read with :func:`scintiseg.io.labelme.read_labelme`. It belongs to a scan when its file stem, or the stem
  of its ``imagePath``, is the scan's file stem, optionally followed by ``_ANT`` or ``_POST`` (any case),
  which names the view. Otherwise the view comes from the ``"view"`` key scintiseg writes (which wins over a
  suffix, as in :func:`~scintiseg.io.labelme.read_labelme`), else it is ``VIEW``. A single-view scan takes
  an annotation of any matching view; an ANT+POST scan needs the view named. When two scans share a stem,
  the one in the annotation's own folder wins, then the one at the same relative folder under its source.
  The annotation's size must equal the scan's. Each matched annotation is written as
  ``labels/<case>_<VIEW>.json`` with the view's display rendering embedded (as
  :func:`scintiseg.prepare.case_arrays.write_case_arrays` writes them; LabelMe opens them without the
  DICOM file). Unmatched, ambiguous or unreadable LabelMe files are listed with the reason. Files under
  ``labels_dir`` are matched before those among the sources (they are the newer outlines).
* **Predictions corrected in LabelMe** (the correction loop, issue 16). In a folder holding a scintiseg
  ``report.json`` (a ``scintiseg predict`` output folder) only its ``<VIEW>.labelme.json`` files are read,
  never its masks, overlays, SR or GSPS. Such a file names its scan by the stem of the report's
  ``input.source``, else by its folder's name (predict names the folder after the scan), and its view by its
  name. One whose outline still rasterises to the ``<VIEW>_mask.png`` beside it is an unedited prediction:
  listed, never imported as labels (a model's output must not become truth by accident). The image embedded
  in it is a display rendering, never read back as counts: the counts come from the scan.
* **Labels for cases already in the data set**: the data set's own cases are label candidates too (by case
  id and original file stem), so a corrected file finds its scan without the original folder. A view whose
  new outline rasterises to the same mask as its current labels is left alone; new or different labels are
  written to a new file, ``labels/<case>_<VIEW>.reviewed.json`` (``-2``, ``-3``... on later corrections; the
  earlier outline stays on disk), and the view is listed in ``meta["reviewed"]`` (:data:`REVIEWED`). A new
  case whose labels come from an edited prediction is marked the same way.
* **Pseudo-labels** (opt-in: ``pseudo_labels=P``, ``--pseudo-labels P``, ``P`` in [0.5, 1); issue 16's
  "optional pseudo-labels from the model's confident predictions"). An *unedited* prediction of a view
  becomes that view's labels only when the model was confident on the whole view, judged from the
  ``report.json`` beside it (:func:`~scintiseg.io.predicted_labels.pseudo_label_doubt`): every lesion of the view has a peak probability
  (``lesions[].probability_max``) of at least ``P``, a view without lesions has a largest probability
  (``views.V.max_probability``, the network's own) of at most ``1 - P``, no reading rule left out one of the
  network's calls on the view (``left_out_calls``: the network and the rule disagree), and the model saw every
  pixel of the view (``views.V.window_pixels``). The pseudo mask is the predicted outline as it stands. It is
  written as ``labels/<case>_<VIEW>.pseudo.json`` (``.pseudo-2.json``... when a later, different
  confident prediction replaces it: the Noisy Student loop, where the adapted model predicts again) and
  the view is listed in ``meta["pseudo"]`` (:data:`PSEUDO`). Any other unedited prediction stays
  unlabelled and is listed with its reason (``not confident: lesion 3 peak 0.71 < 0.9``). A person's
  outline always wins: a pseudo-label never replaces labels that are not pseudo-labels (in one run, other
  LabelMe files are matched first), and a corrected outline replaces a pseudo-label (the view moves from
  ``meta["pseudo"]`` to ``meta["reviewed"]``).

  [Choices the sources leave open.] *Image-level confidence, whole views*: Lee (2013, "Pseudo-Label",
  ICML workshop) takes the model's most probable class as the label, and Noisy Student (Xie et al. 2020,
  CVPR, §2) keeps a teacher's predictions only when their confidence is high; both judge a whole image.
  A segmentation could instead keep only its confident pixels, but the supervised loss
  (:class:`scintiseg.losses.SegmentationLoss`) has no ignore mask: every pixel of a labelled view is
  taught as truth, so an uncertain lesion edge, or a faint lesion the model half saw, would be taught
  as certain. A view is therefore all or nothing: one doubtful lesion, or a lesion-free view with a
  doubtful hot spot, leaves the whole view unlabelled (it still feeds the Chan-Vese term of site
  adaptation). *Peak, not mean*: a lesion's peak says the model is sure a lesion is there; its outline is
  the model's as thresholded (``settings.threshold``), not refined. *P >= 0.5*: then a confident lesion's
  peak (>= P) and a confident background (<= 1 - P) never overlap, and ``P = 0.5`` accepts every
  prediction as it stands.
* **Patients**: a DICOM file's Patient ID groups its cases; a file without one (not DICOM, or an empty
  PatientID) gets its patient id from ``patient_from``: ``"stem"`` (the file name without suffix, the
  default), ``"parent"`` (the name of the folder holding the file) or ``"regex:PATTERN"`` (the first group
  of ``re.search(PATTERN, file name)``; a file it does not match is skipped and listed). Scans of one Patient ID whose
  headers disagree on the Patient's Sex or Birth Date (where both give it), new ones or a new one and one of the data
  set's, are still one patient, with one warning per Patient ID naming two such files and what differs
  (:func:`~scintiseg.io.import_sources.shared_patient_ids`: two cohorts numbered alike are otherwise merged without a
  word, and the patient-level split with them).
* **Case ids**: the file stem reduced to ``[A-Za-z0-9._-]``; when taken, ``<folder>_<stem>``, then
  ``-2``, ``-3``, ... in walk order.

* **A view named by the file's name** (with ``orient``): a one-view file whose header names no view is the view its
  name or folder says (``0123_POST.png``; :func:`scintiseg.io.read_scan` ``view="name"``), as prediction reads it, and
  such a file is written as the one DICOM file of that view, so the data set reads it back named (session 28; before,
  a lone ``*_POST.png`` was a ``VIEW`` case, read by training as an anterior view). The same holds for a study's two
  files imported apart (before, each picture was copied and read back as ``VIEW``); joined, they were always named.
* **Scans stored head-down** (with ``orient``, which ``scintiseg dataset import`` gives: the region network's
  judgement, :func:`scintiseg.predict.pipeline.read_upright`, as prediction reads a scan): the image is still
  copied as stored and its outlines written as given, and the case records ``meta["read_turned"] = "head_down"``
  (:data:`scintiseg.io.dataset.TURNED_KEY`), so that the data set's readers (``load_case``,
  ``load_case_arrays``) turn image and outlines together and training and evaluation see the case upright, as
  prediction does. A prediction's outlines of such a scan (``scintiseg predict`` keeps every output on the image
  as stored) come back as stored and are turned with it. Listed in the report (``turned``). Cases already in the
  data set are not judged again.
* **Bodies stored lying** (with ``orient`` too): a one-view file holding a body lying on its side is stood as
  prediction reads it (:func:`scintiseg.io.stood_scan`, a quarter clockwise, or the other quarter when ``orient``
  says :data:`~scintiseg.io.dataset.STOOD_OTHER_WAY`), and its image is the one DICOM file of the standing view, so
  the data set, prediction's outputs and the outlines share one image; ``meta["stood"]`` records the turn
  (:data:`~scintiseg.io.dataset.STOOD_KEY`). A LabelMe file of the standing size (a prediction's) is taken as it
  is; one of the file's own size (drawn on the lying file) is turned with the image
  (each label rasterised, the mask turned and outlined again: exact in raster). A study's two files both stored lying are
  stood alike and joined (an outline drawn on either file as stored turned onto its own view); two files that the
  reader or ``orient`` read otherwise, one alone and then the other (one lying and one standing, one head-down,
  one stood the other way), are imported apart with one warning, each read right (session 28; joined, a case
  records one turn for both views, and the region network's judgement of a scan whose views disagree turns
  nothing). Listed in the report
  (``stood``). A stood case is matched by later corrections through its standing image in the data set.
* **Pages of two views** (with ``orient`` too): a one-view file holding ANT and POST side by side (a workstation's
  page, a screenshot) is split as prediction reads it (:func:`scintiseg.io.split_page`: ANT left, POST right as
  displayed, each half padded on its outer side to one width) into an ANT+POST case, its image the one DICOM file of
  the two views; ``meta["split_at_column"]`` (:data:`~scintiseg.io.dataset.SPLIT_KEY`) records the cut and
  ``meta["stored_shape"]`` the page's size. Prediction's ``ANT``/``POST`` LabelMe files match their views; an
  outline drawn on the page as stored is cut with it, labelling each view with its part (a view with no part: no
  lesion there), exact in raster; ``adapt --boxes`` cuts Pascal VOC boxes drawn on the page alike. (An 8-bit page's display inversion is judged on the page, before the split; the reader judges the
  split views. A standing body, about 4:1, is never also a page, about 2:1.)
* **Views stored mirrored** (with ``orient`` too; session 27): a DICOM view whose header says it is stored mirrored
  left-right (:mod:`scintiseg.io.patient_sides`: its detector's Image Orientation (Patient), or Patient Orientation)
  is mirrored back as prediction reads it, and the case's image is written so (its header stating the directions of
  the view as written, so it reads back unmirrored); ``meta["mirrored"]`` lists the views. A LabelMe file is taken
  as drawn on the view as read (a prediction's, or one drawn on any picture scintiseg wrote): the file as stored has
  the same size, and a DICOM file is not what LabelMe opens. Listed in the report (``mirrored``).

**Labels imported once** (session 63): each case records the SHA-256 of every LabelMe file imported into a view
(``meta["label_sha256"]``, :data:`~scintiseg.io.import_sources.LABEL_SHA256`); a file whose bytes are recorded for its
view is passed over quietly, so re-running an earlier folder of outlines or corrections never puts an older outline
back over a newer correction (before, an outline was compared only with the current labels). A person's outline whose
mask equals an earlier revision of the view in ``labels/`` (not the current one) is listed, not imported: a data set
imported before session 63 records no hashes. Two new files for one view in one run: ``labels_dir`` first, then the
sources last given first (the loop's folders given oldest first); the first matched wins, the other is listed.
**Views**: the manifest's ``views`` are the views every case holds, and ``view_cases`` counts the cases holding each
(:mod:`scintiseg.io.dataset`; :func:`_view_cases`), reported as ``report.view_cases`` (``views: ANT 8, POST 7 of 8
cases``).
**A pixel size assumed** (a picture file records none, no ``pixel_spacing`` given): one warning per file in
prediction's words, recorded as ``meta["pixel_spacing_assumed"]``. A DICOM file written carries the case's patient id.
A ``scintiseg predict`` batch's own files (``summary.csv``, ``triage.json``, ``boxes.json``:
:func:`~scintiseg.io.not_scans.prediction_batch_files`) are passed over quietly.

Re-running on the same sources is idempotent: a source whose SHA-256 is already in the manifest
(``meta["sha256"]``) is left alone, so existing cases, their files and ids never change (but for the
corrected labels above), and only new files are added (a file edited since is new content and becomes a new case). Within one run, a file with
the same content as an earlier one is skipped as a duplicate. The manifest is written last and
atomically, so an interrupted run leaves the previous data set (or none) behind, plus copied files that
the next run overwrites.

**Scans read and found normal** (``read_normal``, ``dataset import --read-normal``, session 50). A view without a
LabelMe file has unknown lesions (:func:`scintiseg.io.dataset.person_views`): an archive's scans nobody outlined are
not scans found normal. Where a department's readers did read every scan and outlined only the lesions they saw, the
flag gives each new case's view without a file an empty outline, so training learns it as a negative and evaluation
scores its false calls. [Choice: opt-in, and only for new cases: an unedited prediction imported later is no read
view, and a wrong "normal" teaches a metastasis as background.]

The code: this module walks the sources, names and writes the cases and the manifest;
:mod:`scintiseg.io.import_sources` reads each scan (and joins a study's two files) as prediction reads it;
:mod:`scintiseg.io.import_labels` finds each LabelMe file's scan and view.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from scintiseg.errors import ScintisegError
from scintiseg.io import header_data_files, read_scan
from scintiseg.io.atomic import atomic_path, remove_stale_partials
from scintiseg.io.dataset import MANIFEST_NAME, TURNED_KEY, Case, DatasetManifest, load_manifest
from scintiseg.io.dataset import PSEUDO_KEY, save_manifest
from scintiseg.io.dataset import SPLIT_KEY, STOOD_KEY, STOOD_TURNS, STORED_SHAPE_KEY, resolve
from scintiseg.io.dicom import write_dicom
from scintiseg.io.file_keys import scan_stem
from scintiseg.io.import_labels import match_labels
from scintiseg.io.images import parse_pixel_spacing
from scintiseg.io.import_sources import LABEL_SHA256, ImportReport, ScanSource, check_patient_rule, imported_labels
from scintiseg.io.import_sources import joined_sources, judge, read_source, recorded, shared_patient_ids
from scintiseg.io.labelme import read_labelme, write_labelme
from scintiseg.io.not_scans import BATCH_SUMMARY, DATASET_MANIFEST, REPORT_NAME, dataset_files, dicom_not_a_scan
from scintiseg.io.not_scans import OS_LITTER, prediction_batch_files, prediction_report
from scintiseg.io.patient_sides import MIRRORED_KEY
from scintiseg.io.predicted_labels import check_pseudo_threshold, drawn_mask, predicted_view
from scintiseg.io.view_pairs import find_view_pairs
from scintiseg.scan import VIEW_NAMES, Annotation, Scan

#: Suffix of an image file copied from a DICOM source, whatever the source's name.
DICOM_SUFFIX = ".dcm"
#: ``Case.meta`` key: the views whose labels a person corrected or added after the scan was imported.
REVIEWED = "reviewed"
#: ``Case.meta`` key: the views whose labels are a model's confident prediction (opt-in pseudo-labels).
PSEUDO = PSEUDO_KEY
#: ``Case.meta`` keys of a study joined from two files: each view's source file and its SHA-256.
VIEW_SOURCES = "view_sources"
VIEW_SHA256 = "view_sha256"
#: ``Case.meta`` key (session 63): the reason a new case's pixel size was assumed (its file records none and no
#: ``--pixel-spacing`` was given), as the reader words it; the image written carries the assumed size.
SPACING_ASSUMED = "pixel_spacing_assumed"
#: A person's labels files of one view in ``labels/``: the first, and every reviewed revision.
_PERSON_REVISION = r"{case}_{view}(\.{kind}(-\d+)?)?\.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


#: Suffixes of files that lie beside scans in an archive and are neither scans nor LabelMe files: passed over
#: quietly (Pascal VOC boxes: turn them into outlines with ``scintiseg annotations from-boxes``).
NOT_SCANS = frozenset({".xml"})


def _walk(sources: list[Path], skip: Path) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]], list[Path]]:
    """(scan candidates, LabelMe candidates) as (file, its source root), and missing sources; sorted, no
    hidden names, nothing under ``skip`` (the output folder)."""
    scans, jsons, missing = [], [], []
    seen: set[Path] = set()
    for source in sources:
        if not source.exists():
            missing.append(source)
            continue
        if source.is_file():
            files, root = [source], source
        else:
            files, root = [], source
            for folder, dirs, names in os.walk(source):
                here = Path(folder)
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() != skip)
                names = [n for n in sorted(names) if not n.startswith(".") and n.lower() not in OS_LITTER]
                in_dataset = dataset_files(here) if DATASET_MANIFEST in names else None
                if in_dataset is not None:  # a data set: its case images and LabelMe files, not its masks and maps
                    dirs[:] = []
                    files += in_dataset[0] + in_dataset[1]
                    continue
                if REPORT_NAME in names and prediction_report(here) is not None:
                    # A prediction's folder: only its LabelMe files, never its masks, overlays, SR or GSPS.
                    names = [n for n in names if predicted_view(here / n)]
                if BATCH_SUMMARY in names:  # a prediction batch's root: its summary.csv, triage.json, boxes.json
                    batch = prediction_batch_files(here, names)
                    names = [n for n in names if n not in batch]
                files += [here / n for n in names]
        for path in files:
            resolved = path.resolve()
            if resolved in seen or not path.is_file():
                continue
            seen.add(resolved)
            if path.suffix.lower() in NOT_SCANS or (root != path and dicom_not_a_scan(path) is not None):
                continue  # (a DICOMDIR, an SR, a presentation state, a CT slice found in a folder: io.not_scans)
            (jsons if path.suffix.lower() == ".json" else scans).append((path, root))
    data = header_data_files([path for path, _ in scans])  # read with their Interfile or MetaImage headers
    return [(path, root) for path, root in scans if path.resolve() not in data], jsons, missing


def _case_id(source: ScanSource, taken: set[str]) -> str:
    def clean(text: str) -> str:
        return _UNSAFE.sub("_", text).strip("._") or "case"

    stem = clean(source.name or scan_stem(source.path))
    candidates = [stem]
    if source.path.parent.name:
        candidates.append(f"{clean(source.path.parent.name)}_{stem}")
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    n = 2
    while f"{candidates[-1]}-{n}" in taken:
        n += 1
    return f"{candidates[-1]}-{n}"


def _dataset_sources(out: Path, manifest: DatasetManifest, skip: set[str]) -> dict[str, ScanSource]:
    """The cases already in the data set (but ``skip``) as label candidates, named by their id and original stem.

    A corrected LabelMe file then finds its scan without the original folder being given again. A case whose
    image cannot be read is left out (``dataset check`` reports it).
    """
    found = {}
    for case in manifest.cases:
        if case.case_id in skip:
            continue
        try:
            path = resolve(out, case.image)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scan = read_scan(path)
        except (ScintisegError, OSError):
            continue
        original = scan_stem(str(case.meta.get("source", "")))
        stood, column, stored = (case.meta.get(key) for key in (STOOD_KEY, SPLIT_KEY, STORED_SHAPE_KEY))
        if not (isinstance(stored, list) and len(stored) == 2 and all(isinstance(n, int) for n in stored)):
            stood, column, stored = "", None, None  # read as the data set holds it
        stood = stood if stood in STOOD_TURNS and stored == [scan.shape[1], scan.shape[0]] else ""
        column = column if (isinstance(column, int) and scan.view_names == ["ANT", "POST"] and stored is not None
                            and stored[0] == scan.shape[0] and max(column, stored[1] - column) == scan.shape[1]) else None
        named = case.meta.get(VIEW_SOURCES)
        view_files = {view: Path(str(f)) for view, f in named.items() if view in VIEW_NAMES} if isinstance(named, dict) else {}
        found[case.case_id] = ScanSource(path=path, root=out, scan=scan, sha256=str(case.meta.get("sha256", "")),
                                      imported_labels={v: set(d) for v, d in imported_labels(case.meta).items()},
                                      dicom=False, patient_id=case.patient_id, display_export=False,
                                      case_id=case.case_id, aliases=tuple(a for a in (case.case_id, original) if a),
                                      view_files=view_files, stood=stood, split_column=column,
                                      stored_shape=tuple(stored) if stood or column is not None else None)
    return found


def _earlier_patients(out: Path, manifest: DatasetManifest | None, fresh: list[ScanSource],
                      read: dict[str, ScanSource]) -> list[tuple[str, Path, dict]]:
    """The data set's cases of the Patient IDs the new cases bring, as (patient id, image, ``Scan.metadata``) for
    :func:`~scintiseg.io.import_sources.shared_patient_ids`: a case whose source was read again this run (``read``)
    as read, another by its image in the data set (only these cases: a few per new patient); one that cannot be read
    says nothing (``dataset check`` reports it)."""
    if manifest is None:
        return []
    new_ids = {source.patient_id for source in fresh}
    found = []
    for case in manifest.cases:
        if case.patient_id not in new_ids:
            continue
        if case.case_id in read:
            found.append((case.patient_id, out / case.image, read[case.case_id].scan.metadata))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (the image's own warnings: dataset check's to give)
                found.append((case.patient_id, out / case.image, read_scan(resolve(out, case.image)).metadata))
        except (ScintisegError, OSError):
            continue
    return found


def _revision_path(out: Path, case: Case, view: str, kind: str = REVIEWED) -> str:
    """A new labels file for ``case``'s ``view``: ``labels/<case>_<VIEW>.<kind>.json``, then ``-2``, ``-3``...

    ``kind`` is ``"reviewed"`` (a person's correction) or ``"pseudo"`` (a pseudo-label). Never the file the
    manifest names now: a run interrupted before the manifest is written leaves the data set as it was
    (plus an unused file), and the earlier outline stays on disk beside its replacement.
    """
    used = set(case.labels.values())
    name, n = f"labels/{case.case_id}_{view}.{kind}.json", 2
    while name in used or (out / name).exists():
        name, n = f"labels/{case.case_id}_{view}.{kind}-{n}.json", n + 1
    return name


def _ordered_views(views: set[str]) -> list[str]:
    return sorted(views, key=VIEW_NAMES.index)


def _earlier_revision(out: Path, case: Case, view: str, mask: np.ndarray) -> str:
    """The labels file of a person's earlier outline of ``case``'s ``view`` (``labels/<case>_<VIEW>.json``,
    ``.reviewed.json``, ``.reviewed-N.json``; not the current one) that rasterises to ``mask``, or ``""``."""
    pattern = re.compile(_PERSON_REVISION.format(case=re.escape(case.case_id), view=view, kind=REVIEWED))
    folder = out / "labels"
    current = case.labels.get(view)
    for path in sorted(folder.glob(f"{glob.escape(case.case_id)}_{view}*.json")):  # this view's files, not the folder's
        rel = f"labels/{path.name}"
        if rel == current or not pattern.fullmatch(path.name):
            continue
        try:
            earlier = drawn_mask(read_labelme(path, root=out))
        except (ScintisegError, OSError):
            continue
        if earlier.shape == mask.shape and (earlier == mask).all():
            return rel
    return ""


def _updated_case(out: Path, case: Case, source: ScanSource, report: ImportReport) -> Case | None:
    """``case`` with the labels matched to it this run written; None when nothing changed.

    A LabelMe file already imported into the view (its SHA-256 in ``meta["label_sha256"]``) never reaches here
    (:func:`scintiseg.io.import_labels.match_labels` passes over it). A person's outline whose mask equals an
    earlier outline of the view that a later one replaced (a file kept in ``labels/``) is not imported either: it is
    an older file re-run (a data set imported before session 63 records no hashes), listed with the file it equals.

    A person's outline for a view whose current labels rasterise to the same mask is left alone (a re-run
    changes nothing); a new or different one gets a new labels file (:func:`_revision_path`) and the view
    is added to ``meta["reviewed"]`` (and leaves ``meta["pseudo"]``: a correction replaces a pseudo-label,
    even one it equals). A pseudo-label is written only where the view has no labels or a pseudo-label
    with another mask (``labels/<case>_<VIEW>.pseudo.json``, the view added to ``meta["pseudo"]``); a
    view with labels that are not pseudo-labels keeps them and the pseudo-label is listed.
    """
    labels = dict(case.labels)
    reviewed, pseudo = set(case.meta.get(REVIEWED, [])), set(case.meta.get(PSEUDO, []))
    hashes = imported_labels(case.meta)
    for view in VIEW_NAMES:
        if view not in source.annotations:
            continue
        json_path, annotation = source.annotations[view]
        is_pseudo, was_pseudo = view in source.pseudo, view in pseudo and view in case.labels
        digest = source.label_sha256.get(view, "")
        if is_pseudo and view in case.labels and not was_pseudo:
            report.unmatched_labels.append((str(json_path), f"case {case.case_id} view {view} already has labels "
                                            f"({case.labels[view]}); a pseudo-label never replaces them"))
            continue
        if view in case.labels and (is_pseudo or not was_pseudo):
            try:
                current = drawn_mask(read_labelme(resolve(out, case.labels[view]), root=out))
            except (ScintisegError, OSError):
                current = None
            if current is not None and current.shape == annotation.image_shape and (current == drawn_mask(annotation)).all():
                continue
        if not is_pseudo and view in case.labels:
            earlier = _earlier_revision(out, case, view, drawn_mask(annotation))
            if earlier:
                report.unmatched_labels.append((str(json_path), f"its outline equals {earlier}, an earlier outline of "
                                                f"case {case.case_id} view {view} that {case.labels[view]} replaced: an "
                                                "older file, not imported again"))
                continue
        rel = _revision_path(out, case, view, PSEUDO if is_pseudo else REVIEWED)
        write_labelme(replace(annotation, view=view, image_path=None), out / rel, image=source.scan.view(view))
        labels[view] = rel
        if digest:
            hashes.setdefault(view, []).append(digest)
        if is_pseudo:
            pseudo.add(view)
            report.pseudo.append((case.case_id, view))
        else:
            reviewed.add(view)
            pseudo.discard(view)
    if labels == case.labels:
        return None
    meta = dict(case.meta)
    for key, views in ((REVIEWED, reviewed), (PSEUDO, pseudo)):
        if views:
            meta[key] = _ordered_views(views)
        else:
            meta.pop(key, None)
    if hashes:
        meta[LABEL_SHA256] = {view: hashes[view] for view in _ordered_views(set(hashes) & set(VIEW_NAMES))}
    return replace(case, labels=labels, meta=meta)


def _relative(path: Path, root: Path) -> str:
    """``path`` as the manifest records its source: relative to the source folder it was found under."""
    return path.relative_to(root).as_posix() if root != path and path.is_relative_to(root) else path.name


def _case_hashes(case: Case) -> list[str]:
    """The SHA-256 of every file a case was imported from (both files of a joined study)."""
    views = case.meta.get(VIEW_SHA256)
    found = [case.meta.get("sha256"), *(views.values() if isinstance(views, dict) else [])]
    return [digest for digest in found if isinstance(digest, str) and digest]


def _write_scan(source: ScanSource, target: Path, report: ImportReport) -> None:
    """The scan as the one DICOM file :func:`~scintiseg.io.dicom.write_dicom` makes (views, pixel size, ids), its
    Patient ID the case's (``--patient-from``'s for a file without one; session 63: before, the file's stem)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_dicom(replace(source.scan, patient_id=source.patient_id), target)  # the data set's patient (session 63)
    recorded(report, source.path, caught)


def _place_image(source: Path, target: Path, link: bool) -> bool:
    """Copy ``source`` to ``target`` atomically, or hard-link it with ``link``; False when a link was asked
    for but the file system refused it (another device, no hard links) and the file was copied instead."""
    try:
        with atomic_path(target) as tmp:
            if link:
                tmp.unlink()
                try:
                    os.link(source, tmp)
                    return True
                except OSError:
                    pass
            shutil.copyfile(source, tmp)
    except OSError as exc:  # a full disk, no permission: the manifest (written last) is not touched
        raise ScintisegError(f"cannot write the image ({exc.strerror or type(exc).__name__})", path=target) from None
    return not link


def _manifest_views(cases: list[Case], views_of: dict[str, list[str]], previous: list[str]) -> list[str]:
    """The views every image has (canonical order), ``["VIEW"]`` when they share none (what the data set's readers
    take for granted: :mod:`scintiseg.io.dataset`; :func:`_view_cases` counts each)."""
    if not cases:
        return previous or ["VIEW"]
    common = set(VIEW_NAMES)
    for case in cases:
        common &= set(views_of.get(case.case_id, previous))
    return [v for v in VIEW_NAMES if v in common] or ["VIEW"]


def _view_cases(out: Path, previous: DatasetManifest | None, added: list[Case],
                views_of: dict[str, list[str]]) -> dict[str, int]:
    """How many cases of the data set hold each view (the manifest's ``view_cases``, :mod:`scintiseg.io.dataset`;
    canonical order): the earlier manifest's count plus the new cases' views (a case's image never changes once
    imported); where the earlier manifest holds cases but no count (made before the count, by ``phantom``, by
    hand), its cases' images are read once, and where one cannot be read the count is left out (``{}``) rather
    than given short (``dataset check`` reports the image)."""
    counts: Counter[str] = Counter()
    if previous is not None and previous.cases and previous.view_cases:
        counts.update(previous.view_cases)
    elif previous is not None:
        for case in previous.cases:
            views = views_of.get(case.case_id)
            if views is None:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # (the image's own warnings: dataset check's to give)
                        views = read_scan(resolve(out, case.image)).view_names
                except (ScintisegError, OSError):
                    return {}
            counts.update(views)
    for case in added:
        counts.update(views_of[case.case_id])
    last = len(VIEW_NAMES)  # (a view name no reader gives, from a manifest edited by hand: after the known ones)
    return {view: counts[view] for view in sorted(counts, key=lambda v: VIEW_NAMES.index(v) if v in VIEW_NAMES else last)}


def import_dataset(
    sources: list[str | Path],
    out: str | Path,
    *,
    labels_dir: str | Path | None = None,
    link: bool = False,
    patient_from: str = "stem",
    pseudo_labels: float | None = None,
    join: bool = True,
    orient: Callable[[Scan], tuple[Scan, str]] | None = None,
    check_views: Callable[[Scan], str] | None = None,
    progress: bool = False,
    read_normal: bool = False,
    pixel_spacing: str | float | tuple[float, float] | None = None,
) -> ImportReport:
    """Import scans (and their LabelMe files) into the data set folder ``out``; see the module docstring.

    Args:
        sources: files and folders of scans (walked recursively); LabelMe ``.json`` files among them count.
        out: the data set folder, created when missing; an existing data set there is extended.
        labels_dir: another folder of LabelMe files.
        link: hard-link the images instead of copying them (copied, with a warning, where that fails).
        patient_from: ``"stem"``, ``"parent"`` or ``"regex:PATTERN"``: the patient id of a file without a
            DICOM Patient ID.
        pseudo_labels: ``P`` in [0.5, 1): take unedited predictions the model was confident on (at ``P``)
            as pseudo-labels (module docstring, "Pseudo-labels"); None (the default): never.
        join: a study's ANT and POST stored as two files become one two-view case (module docstring, "A study's
            two files"); False: a case per file.
        orient: how a scan is read upright (:func:`scintiseg.predict.pipeline.read_upright`; module docstring,
            "Scans stored head-down"); given, a body stored lying is also stood ("Bodies stored lying"); None:
            every scan as stored.
        check_views: what to say of a new scan as read upright, listed among the warnings when it says anything
            (``scintiseg dataset import`` gives :func:`scintiseg.predict.view_labels.swapped_note`: views that look
            named the other way round, imported as named); None: nothing checked.
        progress: show a tqdm progress bar (stderr).
        read_normal: every view of a new case without a LabelMe file was read and found free of lesions: it gets an
            empty outline (a reader's "no lesion"), so training learns it as a negative and evaluation scores it.
            Default False: such a view has unknown lesions (a scan nobody outlined is no scan found normal; session
            50, :func:`scintiseg.io.dataset.person_views`). Not with ``pseudo_labels`` (an unconfident prediction
            is no read view).
        pixel_spacing: (row, col) mm, one number or ``"ROWxCOL"`` (:func:`~scintiseg.io.images.parse_pixel_spacing`,
            as ``scintiseg predict --pixel-spacing`` takes it): the pixel size of files that record none (PNG, JPEG,
            TIFF, ``.npy``, a DICOM without Pixel Spacing); a DICOM file keeps its own, as prediction reads it. None
            (the default): one is assumed (:func:`~scintiseg.io.images.assumed_pixel_spacing`), with one warning per
            file, and the case records it (``meta["pixel_spacing_assumed"]``, session 63).

    Returns:
        The report: cases added, skipped files and unmatched LabelMe files with their reasons, warnings. Where
        ``out`` holds no data set yet and no scan was found, nothing is written (``report.manifest`` is None).

    Raises:
        ScintisegError: a bad ``patient_from`` rule, ``pseudo_labels`` or ``pixel_spacing``, a missing ``labels_dir``, an ``out``
            that is a file, an unreadable existing manifest in ``out``, no source that exists, or an image that
            cannot be written.

    Example::

        report = import_dataset(["scans/"], "data/own", labels_dir="outlines/")
        check_dataset("data/own").valid  # True
    """
    rule = check_patient_rule(patient_from)
    spacing_given = None if pixel_spacing is None else parse_pixel_spacing(pixel_spacing)
    threshold = None if pseudo_labels is None else check_pseudo_threshold(pseudo_labels)
    if read_normal and pseudo_labels is not None:
        raise ScintisegError("--read-normal and --pseudo-labels exclude each other: a view the model was unsure of is "
                             "no view a reader found normal")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScintisegError("not a folder: the data set to import into must be a folder", path=out)
    source_paths = [Path(s) for s in sources]
    label_root = None if labels_dir is None else Path(labels_dir)
    if label_root is not None and not label_root.is_dir():
        raise ScintisegError("labels folder not found", path=label_root)
    manifest = load_manifest(out) if (out / MANIFEST_NAME).is_file() else None
    previous = manifest
    report = ImportReport(kept=0 if manifest is None else len(manifest.cases))

    scan_files, json_files, missing = _walk(source_paths, out.resolve())
    if missing and len(missing) == len(source_paths):
        raise ScintisegError("no such file or folder", path=missing[0])
    report.skipped += [(str(m), "no such file or folder") for m in missing]
    # One view, two new LabelMe files in one run: the first matched wins. Of the sources, the one given last is matched
    # first (the correction loop's folders are given oldest first); --labels before them all (the newer outlines).
    # (A file imported before is passed over whatever its place: module docstring, "Labels imported once".)
    rank = {source: -n for n, source in enumerate(source_paths)}
    json_files = sorted(json_files, key=lambda found: rank.get(found[1], 0))
    if label_root is not None:
        json_files = _walk([label_root], out.resolve())[1] + json_files

    known = {} if manifest is None else {
        digest: c.case_id for c in manifest.cases for digest in _case_hashes(c)
    }
    taken = set() if manifest is None else {c.case_id for c in manifest.cases}
    fresh: list[ScanSource] = []
    existing_sources: dict[str, ScanSource] = {}
    root_of = dict(scan_files)
    groups = find_view_pairs(list(root_of)) if join else [(path,) for path in root_of]
    joined_cases = {} if manifest is None else {c.case_id: set(_case_hashes(c)) for c in manifest.cases}
    files = tqdm(groups, desc="importing", unit="scan", disable=not progress, leave=False)
    for group in files:
        if len(group) == 2:  # each file's view as its name or folder says, as prediction reads it
            sources = joined_sources([read_source(path, root_of[path], rule, report, "name", as_predicted=orient is not None,
                                                  pixel_spacing=spacing_given)
                               for path in group], known, rule, report, orient)
        else:
            sources = [s for s in [read_source(group[0], root_of[group[0]], rule, report,
                                               "name" if orient is not None else None, as_predicted=orient is not None,
                                               pixel_spacing=spacing_given)]
                       if s is not None]
        for source in sources:
            if source.sha256 in known:
                case_id = known[source.sha256]
                if source.hashes == joined_cases[case_id] and source.stored_shape is None:  # (one file of a joined
                    existing_sources[case_id] = source  # study: the case as stored is read; a stood or split one: its image)
                    source.imported_labels = {v: set(d) for v, d in imported_labels(manifest.case(case_id).meta).items()}
                continue
            earlier = next((s for s in fresh if source.hashes <= s.hashes), None)  # nothing new in it
            if earlier is not None:
                same = next((f for view, f in earlier.view_files.items() if earlier.view_sha256[view] == source.sha256),
                            earlier.path)
                report.skipped.append((str(source.path), f"same content as {same}"))
                continue
            source.case_id = _case_id(source, taken)
            taken.add(source.case_id)
            fresh.append(source)

    shared_patient_ids(_earlier_patients(out, manifest, fresh, existing_sources),
                       [(source.patient_id, source.path, source.scan.metadata) for source in fresh], report)
    for source in fresh:  # before the labels: an outline drawn on a lying file follows the image's final turn
        judge(source, orient, report, check_views)
    every_folder = [p.resolve() if p.is_dir() else p.resolve().parent for p in source_paths if p.exists()]
    if label_root is not None:
        every_folder.append(label_root.resolve())
    read_root = Path(os.path.commonpath(every_folder)) if every_folder else Path.cwd()
    existing = dict(existing_sources)
    if json_files and manifest is not None:  # labels for cases imported earlier (the correction loop)
        existing.update(_dataset_sources(out, manifest, set(existing)))
    match_labels(json_files, fresh + list(existing.values()), read_root, report, threshold,
                 labels=None if manifest is None else manifest.labels)

    for folder in ("images", "labels"):
        if (out / folder).is_dir():
            remove_stale_partials(out / folder)
    views_of: dict[str, list[str]] = {}
    for source in tqdm(fresh, desc="writing", unit="case", disable=not progress, leave=False):
        written = (any(source.scan.metadata.get(k) for k in ("interfile", "data_file")) or bool(source.view_files)
                   or source.stored_shape is not None or bool(source.scan.metadata.get(MIRRORED_KEY))
                   or bool(source.scan.metadata.get("view_from_name")))
        suffix = DICOM_SUFFIX if source.dicom or written else source.path.name[len(scan_stem(source.path)):].lower()
        image = f"images/{source.case_id}{suffix}"
        if written:  # a header and its data file (Interfile, MetaImage), a study's two files, a file stood, split or mirrored back
            _write_scan(source, out / image, report)
        elif not _place_image(source.path, out / image, link):
            report.warnings.append((str(source.path), "cannot hard-link here (another file system?); copied"))
        labels = {}
        for view in VIEW_NAMES:
            if view in source.annotations:
                rel = f"labels/{source.case_id}_{view}{'.pseudo' if view in source.pseudo else ''}.json"
                annotation = replace(source.annotations[view][1], view=view, image_path=None)
                write_labelme(annotation, out / rel, image=source.scan.view(view))
                labels[view] = rel
            elif read_normal and view in source.scan.views:  # read, no lesion: an empty outline says so
                rel = f"labels/{source.case_id}_{view}.json"
                write_labelme(Annotation.from_mask(np.zeros(source.scan.view(view).shape, bool), view=view), out / rel,
                              image=source.scan.view(view))
                labels[view] = rel
                report.read_normal += 1
        meta = {"source": _relative(source.path, source.root), "sha256": source.sha256}
        if source.label_sha256.keys() & labels.keys():  # each LabelMe file imported, never again (session 63)
            meta[LABEL_SHA256] = {view: [source.label_sha256[view]] for view in labels if view in source.label_sha256}
        assumed = source.scan.metadata.get(SPACING_ASSUMED)
        if assumed:  # said once per file (as prediction says it) and recorded: the image written carries the guess
            row, col = source.scan.pixel_spacing
            why = f", {assumed}" if isinstance(assumed, str) else ""
            for path in [] if source.dicom else source.view_files.values() or [source.path]:  # (a DICOM's reader said it)
                report.warnings.append((str(path), f"the file has no measured pixel spacing; assuming {row:g} x {col:g} mm{why} "
                                        "(give the right one with --pixel-spacing)"))
            meta[SPACING_ASSUMED] = assumed if isinstance(assumed, str) else True
        if source.view_files:
            meta[VIEW_SOURCES] = {view: _relative(f, root_of.get(f, source.root)) for view, f in source.view_files.items()}
            meta[VIEW_SHA256] = dict(source.view_sha256)
        if source.display_export:
            meta["display_export"] = True
        if source.stored_shape is not None:
            meta[STORED_SHAPE_KEY] = list(source.stored_shape)
        if source.stood:
            meta[STOOD_KEY] = source.stood
        if source.split_column is not None:
            meta[SPLIT_KEY] = source.split_column
        if source.scan.metadata.get(MIRRORED_KEY):
            meta[MIRRORED_KEY] = list(source.scan.metadata[MIRRORED_KEY])
        if source.turn:
            meta[TURNED_KEY] = source.turn
        if source.corrected & set(labels):
            meta[REVIEWED] = _ordered_views(source.corrected & set(labels))
        if source.pseudo & set(labels):
            meta[PSEUDO] = _ordered_views(source.pseudo & set(labels))
            report.pseudo += [(source.case_id, view) for view in meta[PSEUDO]]
        report.added.append(Case(case_id=source.case_id, patient_id=source.patient_id, image=image, labels=labels,
                                 origin="clinical", meta=meta))
        views_of[source.case_id] = source.scan.view_names

    if manifest is None and not fresh:  # nothing to make a data set of: no empty dataset.json looking like one
        return report
    if manifest is None:
        spacings = Counter(tuple(s.scan.pixel_spacing) for s in fresh)
        spacing = spacings.most_common(1)[0][0] if spacings else (2.26, 2.26)
        manifest = DatasetManifest(name=out.resolve().name, views=[], pixel_spacing=spacing,
                                   description="Imported with scintiseg dataset import.")
    updates: dict[str, Case] = {}
    for case_id, source in existing.items():
        views_of[case_id] = source.scan.view_names
        updated = _updated_case(out, manifest.case(case_id), source, report)
        if updated is not None:
            updates[case_id] = updated
            report.updated.append(updated)
    cases = [updates.get(case.case_id, case) for case in manifest.cases] + report.added
    report.view_cases = _view_cases(out, previous, report.added, views_of)
    manifest = replace(manifest, cases=cases, views=_manifest_views(cases, views_of, manifest.views),
                       view_cases=report.view_cases)
    out.mkdir(parents=True, exist_ok=True)
    report.manifest = save_manifest(manifest, out)
    return report
