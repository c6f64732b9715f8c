"""The patient's sides on a view's picture (scintiseg.report.image_sides): ANT read facing the patient, POST as
acquired, each mark at its own edge of the picture."""

from __future__ import annotations

import re

import pytest

from scintiseg.report.image_sides import side_letters, side_marks_svg, side_note


@pytest.mark.parametrize("view, letters", [("ANT", ("R", "L")), ("POST", ("L", "R")), ("VIEW", ("R", "L"))])
def test_each_view_puts_the_patients_right_where_its_camera_sees_it(view, letters):
    assert side_letters(view) == letters
    assert side_note(view).endswith("image left" if letters[0] == "R" else "image right")


def test_the_marks_stand_at_their_own_edges_below_the_first_row_shown():
    marks = re.findall(r'<text class="side" data-side="(\w)" x="([\d.]+)" y="([\d.]+)" font-size="([\d.]+)"'
                       r'( text-anchor="end")?>(\w)</text>', side_marks_svg("POST", 578.6, 40.0, 20.0))
    (left, x_left, y_left, size, anchor_left, text_left), (right, x_right, y_right, _, anchor_right, text_right) = marks
    assert (left, text_left, right, text_right) == ("L", "L", "R", "R")
    assert float(x_left) == pytest.approx(8.0) and not anchor_left  # 0.4 font in from the left edge, starting there
    assert float(x_right) == pytest.approx(570.6) and anchor_right  # 0.4 font in from the right edge, ending there
    assert float(y_left) == float(y_right) == pytest.approx(62.0) and float(size) == pytest.approx(24.0)
