"""What a label in a LabelMe file means (scintiseg.io.reader_labels): a lesion, a finding that is no lesion, or a
label that says neither (refused)."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.predicted_labels import outline_mask
from scintiseg.io.reader_labels import LESION_LABEL, label_kind, not_counted, reader_lesions
from scintiseg.scan import Annotation, Shape

SHAPE = (40, 20)


def _square(top: int, label: str) -> Shape:
    return Shape(label=label, points=np.array([[3.0, top], [8.0, top], [8.0, top + 5.0], [3.0, top + 5.0]]))


@pytest.mark.parametrize("label", ["lesion", "Lesion", " LESION ", "metastasis", "Metastases", "mets", "Met",
                                   "abnormal", "bone metastasis", "Tumour", "tumor"])
def test_a_lesion_is_read_whatever_its_case_spacing_or_common_name(label):
    assert label_kind(label) == "lesion"


@pytest.mark.parametrize("label", ["left_out", "normal", "Benign", "Bladder", "Injection site", "injection-site",
                                   "degenerative", "Fracture", "artefact", "artifact", "false positive", "kidneys"])
def test_a_finding_that_is_no_lesion_is_read_so(label):
    assert label_kind(label) == "not_lesion"


@pytest.mark.parametrize("label", ["lesion?", "L1", "hot spot", "lesion 1", "", "metastasis or fracture"])
def test_a_label_that_says_neither_is_unknown(label):
    assert label_kind(label) == "unknown"


def test_reader_lesions_keeps_the_lesions_labelled_lesion_and_drops_the_rest():
    annotation = Annotation([_square(2, "Metastasis"), _square(12, "bladder"), _square(22, "left_out"),
                             _square(30, "lesion")], SHAPE, view="ANT")
    lesions = reader_lesions(annotation)
    assert [shape.label for shape in lesions.shapes] == [LESION_LABEL, LESION_LABEL]
    assert lesions.view == "ANT" and lesions.image_shape == SHAPE
    mask = outline_mask(annotation)
    assert mask[4, 5] and mask[32, 5] and not mask[14, 5] and not mask[24, 5]
    assert not_counted(annotation) == {"bladder": 1}  # the rule's left-out call is not the reader's finding


def test_a_label_that_says_neither_is_refused_naming_the_shape_and_file():
    annotation = Annotation([_square(2, "lesion"), _square(12, "lesion?")], SHAPE, view="ANT")
    with pytest.raises(ScintisegError) as info:
        outline_mask(annotation, "pred/ANT.labelme.json")
    assert info.value.path == "pred/ANT.labelme.json"
    assert info.value.problem.startswith("shape 2 is labelled 'lesion?', neither a lesion (lesion, metastasis")
    assert info.value.problem.endswith("relabel it or delete it")


def test_a_lesion_takes_the_manifests_own_lesion_name_when_it_has_no_lesion():
    """A data set of its own vocabulary (``tumour: 1``, no ``lesion``): a ``metastasis`` outline is labelled ``tumour``,
    and a name the manifest calls background (0) is dropped."""
    annotation = Annotation([_square(2, "metastasis"), _square(12, "tumour"), _square(22, "hot")], SHAPE, view="ANT")
    lesions = reader_lesions(annotation, labels={"background": 0, "hot": 0, "tumour": 1})
    assert [shape.label for shape in lesions.shapes] == ["tumour", "tumour"]
    with_lesion = reader_lesions(annotation, labels={"background": 0, "hot": 0, "lesion": 1, "tumour": 1})
    assert [shape.label for shape in with_lesion.shapes] == [LESION_LABEL, "tumour"]
