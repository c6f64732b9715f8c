"""A prediction's LabelMe file read back (scintiseg.io.predicted_labels): a call relabelled as no lesion is an edit, a
label that says neither is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.images import write_mask_png
from scintiseg.io.labelme import write_labelme
from scintiseg.io.predicted_labels import unedited_prediction
from scintiseg.scan import Annotation, Shape

SHAPE = (40, 20)


def _square(top: int, label: str) -> Shape:
    return Shape(label=label, points=np.array([[3.0, top], [8.0, top], [8.0, top + 5.0], [3.0, top + 5.0]]))


def test_a_call_relabelled_as_no_lesion_is_an_edit_and_a_capitalised_label_is_not(tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"format": "scintiseg-report"}))
    predicted = Annotation([_square(2, "lesion"), _square(12, "lesion"), _square(22, "left_out")], SHAPE, view="ANT")
    write_mask_png(predicted.to_mask(["lesion"]), tmp_path / "ANT_mask.png")
    path = tmp_path / "ANT.labelme.json"
    write_labelme(predicted, path)
    assert unedited_prediction(path, predicted) == "ANT_mask.png"
    capitalised = Annotation([_square(2, "Lesion"), _square(12, "LESION"), _square(22, "left_out")], SHAPE, view="ANT")
    assert unedited_prediction(path, capitalised) == "ANT_mask.png"  # the same lesions: nobody changed what they say
    # Before: every shape but a left-out call counted, so relabelling a false call left the mask unchanged.
    relabelled = Annotation([_square(2, "lesion"), _square(12, "bladder"), _square(22, "left_out")], SHAPE, view="ANT")
    assert unedited_prediction(path, relabelled) == ""
    with pytest.raises(ScintisegError, match="shape 1 is labelled 'L1'"):
        unedited_prediction(path, Annotation([_square(2, "L1")], SHAPE, view="ANT"))


def test_the_drawn_mask_is_every_shape_but_a_left_out_call():
    from scintiseg.io.predicted_labels import drawn_mask

    annotation = Annotation([_square(2, "lesion"), _square(12, "bladder"), _square(22, "left_out")], SHAPE, view="ANT")
    mask = drawn_mask(annotation)
    assert mask[4, 5] and mask[14, 5] and not mask[24, 5]
