"""What a label in a LabelMe file means: a lesion, a finding that is no lesion, or neither (session 48).

A reader correcting a prediction in LabelMe may delete a false call, or relabel it to say what it is (``bladder``,
``degenerative``, ``artefact``), and may label a lesion drawn by hand as habit has it (``Lesion``, ``metastasis``,
``mets``); another tool's or department's outlines come with their own words. Before, every shape but a ``left_out``
one counted as a lesion in ``scintiseg review`` (a call relabelled ``bladder`` stayed in the BSI), ``dataset import``
took such a file for an unedited prediction (its mask unchanged) and wrote any file's labels as they stood, so that
outlines labelled ``Metastasis`` made labelled views with no lesion for training (only the manifest's ``lesion``
counts there), and ``annotations consensus`` saw no lesion where a reader wrote ``Lesion``.

Labels are compared lower-case, spaces and hyphens read as ``_`` (:func:`normalised_label`): those of
:data:`READER_LESION_LABELS` are lesions, those of :data:`READER_NOT_LESION_LABELS` and :data:`LEFT_OUT_LABEL` are
not; any other label is refused in one line naming the shape (:func:`reader_lesions`: a lesion or not is the reader's
to say; ``lesion?`` or ``L1`` decides neither way, and a guess would move the BSI). Used by ``scintiseg review``
(:mod:`scintiseg.predict.review`), ``dataset import`` (:mod:`scintiseg.io.import_labels`: every file, lesions written
``lesion``, a manifest's own names kept) and ``annotations consensus``. Choices the papers leave open: the two lists
(the lesion and benign box labels of :mod:`scintiseg.io.voc`, common abbreviations, the hard negatives of issue 15:
bladder, kidneys, injection site, degenerative joints, fractures); a label is one word of a list, not a sentence
searched for one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from scintiseg.errors import ScintisegError
from scintiseg.io.voc import LESION_LABELS, NORMAL_LABELS
from scintiseg.scan import Annotation

#: The label of the shapes ``scintiseg predict`` writes for the calls a reading rule left out
#: (:mod:`scintiseg.predict.rule_calls`): shown for review, no outline of anything until a reader relabels one.
LEFT_OUT_LABEL = "left_out"
#: The label ``scintiseg predict`` gives a lesion's outline, and a reader's lesion in a corrected file as imported.
LESION_LABEL = "lesion"
#: A reader's labels of a lesion (compared as :func:`normalised_label` writes them; module docstring).
READER_LESION_LABELS: tuple[str, ...] = (*LESION_LABELS, "lesions", "met", "mets", "metastatic", "bone_metastasis",
                                         "bone_metastases", "tumour", "tumor", "tumours", "tumors", "bone_lesion")
#: A reader's labels of a hot spot that is no lesion: benign, physiological, an artefact (module docstring).
READER_NOT_LESION_LABELS: tuple[str, ...] = (
    *NORMAL_LABELS, "not_lesion", "no_lesion", "false_positive", "artefact", "artifact", "contamination", "bladder",
    "urine", "kidney", "kidneys", "injection", "injection_site", "degenerative", "degeneration", "arthritis",
    "arthrosis", "osteoarthritis", "fracture", "trauma",
)


def normalised_label(label: str) -> str:
    """``label`` lower-case, stripped, runs of spaces and hyphens as one ``_`` (``"Injection site"`` ->
    ``"injection_site"``)."""
    return re.sub(r"[\s\-]+", "_", label.strip().lower())


def label_kind(label: str) -> str:
    """``"lesion"``, ``"not_lesion"`` (a benign finding, or a call a reading rule left out) or ``"unknown"``."""
    name = normalised_label(label)
    if name in READER_LESION_LABELS:
        return "lesion"
    return "not_lesion" if name in READER_NOT_LESION_LABELS or name == LEFT_OUT_LABEL else "unknown"


def reader_lesions(annotation: Annotation, path: str | Path | None = None, *,
                   labels: dict[str, int] | None = None) -> Annotation:
    """``annotation``'s lesion shapes, each labelled :data:`LESION_LABEL`; the others dropped (module docstring).

    ``labels``: a data set's manifest labels (name -> class, non-zero a lesion; :mod:`scintiseg.io.dataset`). A shape
    labelled exactly one of those names is read as the manifest says and keeps its label (a data set of its own
    vocabulary, ``tumour: 1``); any other lesion shape is labelled the manifest's lesion label (``lesion``, or its
    first non-zero name where it has no ``lesion``).

    Raises:
        ScintisegError: a shape whose label is neither a lesion's nor a finding's that is not one (named, with
            ``path``).
    """
    declared = dict(labels or {})
    lesion_names = sorted(name for name, value in declared.items() if int(value) != 0)
    target = LESION_LABEL if not lesion_names or LESION_LABEL in lesion_names else lesion_names[0]
    kept = []
    for index, shape in enumerate(annotation.shapes, start=1):  # counted from 1 in a message, as a reader counts
        if shape.label in declared:
            if int(declared[shape.label]) != 0:
                kept.append(shape)
            continue
        kind = label_kind(shape.label)
        if kind == "unknown":
            raise ScintisegError(
                f"shape {index} is labelled {shape.label!r}, neither a lesion (lesion, metastasis, mets, abnormal, ...) "
                "nor a finding that is not one (normal, benign, bladder, degenerative, artefact, ...): relabel it or "
                "delete it", path=path)
        if kind == "lesion":
            kept.append(replace(shape, label=target))
    return replace(annotation, shapes=kept)


def not_counted(annotation: Annotation) -> dict[str, int]:
    """How many shapes of each label (stripped) a reader gave a finding that is not a lesion (``left_out`` calls not
    included)."""
    counts: dict[str, int] = {}
    for shape in annotation.shapes:
        if label_kind(shape.label) == "not_lesion" and normalised_label(shape.label) != LEFT_OUT_LABEL:
            label = shape.label.strip()
            counts[label] = counts.get(label, 0) + 1
    return counts
