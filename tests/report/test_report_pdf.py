"""``report.pdf`` (scintiseg.report.report_pdf): an A4 PDF whose numbers are text a reader can find (lesion ids on the
images and in the table, the BSI, its scope, the caution), lines measured so that none runs over its column, a long
table carried onto more pages with its header again, and a name's ``$`` printed as a dollar."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from support import blob_settings, pdf_page_count, pdf_texts
from scintiseg.predict.loader import SYNTHETIC_DISCLAIMER
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.report.overlay import overlay_image
from scintiseg.report.report_json import report_dict
from scintiseg.report.report_pdf import MARGIN_MM, PAGE_MM, report_pdf, text_width_mm, wrap

PT = 72.0 / 25.4  # points per mm
A4_PT = (595.28, 841.89)


def _images(prediction) -> dict[str, np.ndarray]:
    return {view: np.asarray(overlay_image(prediction.scan.view(view), result, scale=1, outlines=False).convert("RGB"))
            for view, result in prediction.views.items()}


def _predicted(scan, make_blobs, blobs):
    probability = make_blobs(scan.shape, blobs)
    return predict_from_probabilities(scan, {"ANT": probability}, {"ANT": np.ones(scan.shape, dtype=bool)},
                                      blob_settings(0.5, 4, regions="atlas"),
                                      model_info={"name": "test", "disclaimer": SYNTHETIC_DISCLAIMER})


@pytest.fixture(scope="module")
def nm1_report(nm1_scan, make_blobs):
    """(report, pdf, images) of six lesions on NM1 (ANT), in skull, ribs, lumbar spine, forearm and tibia/fibula."""
    prediction = _predicted(nm1_scan, make_blobs, [(300, 100, 5), (330, 160, 3), (380, 128, 3), (130, 120, 4),
                                                   (700, 110, 4), (420, 60, 4)])
    report, images = report_dict(prediction), _images(prediction)
    return report, report_pdf(report, images), images


def _words(texts) -> str:
    return " ".join(" ".join(text.text for text in texts).split())


def test_a_report_is_one_a4_page_whose_numbers_are_text(nm1_report):
    report, pdf, _ = nm1_report
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf_page_count(pdf) == 1
    box = [float(v) for v in pdf.split(b"/MediaBox [")[1].split(b"]")[0].split()]
    assert box[:2] == [0.0, 0.0] and np.allclose(box[2:], A4_PT, atol=1.0)
    texts = pdf_texts(pdf)
    words = _words(texts)
    summary = report["summary"]
    assert len(report["lesions"]) == 6
    for lesion in report["lesions"]:  # numbered on its outline and in the table's Id column
        assert [t.text for t in texts].count(str(lesion["id"])) >= 2, lesion["id"]
    assert f"Bone Scan Index: {summary['bsi_percent']:.3f} % of the skeletal mass" in words
    assert summary["bsi_scope"] in words
    assert f"Impression. {summary['findings_text']['impression']}" in words
    assert "MACHINE DRAFT, NOT A DIAGNOSIS" in words and "Machine draft, not a diagnosis." in words
    assert SYNTHETIC_DISCLAIMER in words
    assert "Lesions by region" in words and "QC flags" in words and "page 1 of 1" in words
    assert f"id {report['patient']['id']}" in words


def test_text_lies_inside_the_page_margins(nm1_report):
    _, pdf, _ = nm1_report
    for text in pdf_texts(pdf):
        assert MARGIN_MM * PT - 0.5 <= text.x <= (PAGE_MM[0] - MARGIN_MM) * PT, text
        assert MARGIN_MM * PT - 0.5 <= text.y <= (PAGE_MM[1] - MARGIN_MM) * PT, text


@pytest.mark.parametrize("size, bold", [(6.5, False), (8.0, False), (8.0, True), (15.0, True)])
def test_text_width_is_never_less_than_matplotlibs_own(size, bold):
    """The width the lines are wrapped by is at least the width matplotlib lays the text out to (so no wrapped line runs
    over its column), and no more than 5 % above it (so lines are not cut short)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(dpi=1200)  # fine enough that the raster's hinting widens nothing: the PDF's layout is unhinted
    renderer = FigureCanvasAgg(figure).get_renderer()
    for sample in ("Bone Scan Index: 0.093 % of the skeletal mass", "lesion_beside_bladder_ANT a lesion lies within",
                   "Tibia/fibula (right): 6 lesions (ANT 3, POST 3); BSI 0.0181 %", "Müller Zoë · 587 mm² WWWW iiii"):
        drawn = figure.text(0, 0, sample, fontsize=size, fontfamily="DejaVu Sans", parse_math=False,
                            fontweight="bold" if bold else "normal")
        measured = drawn.get_window_extent(renderer).width / 1200.0 * 25.4
        assert measured <= text_width_mm(sample, size, bold) <= 1.05 * measured, sample


@pytest.mark.parametrize("width", [20.0, 45.0, 120.0])
def test_wrapped_lines_fit_and_keep_every_word(width):
    text = ("Whole-skeleton BSI: 100.0 % of the skeletal mass was seen (whole window); bones named by the learned "
            "region map. /a/very/long/path/without/any/space/that/must/be/broken/by/characters.dcm")
    lines = wrap(text, width, 8.0)
    assert all(text_width_mm(line, 8.0) <= width for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())  # nothing lost, nothing added
    assert len(lines) > 1


def test_a_long_table_runs_onto_more_pages_with_its_header_again(nm1_scan, make_blobs):
    rows, cols = np.mgrid[140:840:40, 70:200:32]
    blobs = [(int(r), int(c), 3) for r, c in zip(rows.ravel(), cols.ravel())]
    prediction = _predicted(nm1_scan, make_blobs, blobs)
    report = report_dict(prediction)
    assert len(report["lesions"]) >= 60
    pdf = report_pdf(report, _images(prediction))
    pages = pdf_page_count(pdf)
    assert pages >= 2
    texts = pdf_texts(pdf)
    for number in range(1, pages + 1):
        assert any(f"page {number} of {pages}" in t.text for t in texts if t.page == number - 1)
    table_pages = {t.page for t in texts if t.text == "Paired with"}
    last_row_page = max(t.page for t in texts if t.text == "ANT" and t.size == 7.0)
    assert table_pages == set(range(min(table_pages), last_row_page + 1))  # the header on every page the rows reach
    ids = [t.text for t in texts if t.size == 7.0]
    assert all(str(lesion["id"]) in ids for lesion in report["lesions"])  # every lesion has its row
    for text in texts:
        assert MARGIN_MM * PT - 0.5 <= text.y <= (PAGE_MM[1] - MARGIN_MM) * PT, text


def test_a_report_without_lesions_says_so(nm1_scan, make_blobs):
    prediction = _predicted(nm1_scan, make_blobs, [])
    report = report_dict(prediction)
    words = _words(pdf_texts(report_pdf(report, _images(prediction))))
    assert "No lesion found above the threshold." in words and "Paired with" not in words


def test_a_review_without_lesions_says_what_the_reader_decided_not_a_threshold(nm1_scan, make_blobs):
    """Audit 74, finding 3: a reviewed report whose only call the reader relabelled ``degenerative`` said "No lesion
    found above the threshold" (a review applies none) and named the reader's finding nowhere."""
    prediction = _predicted(nm1_scan, make_blobs, [])
    review = {"reviewed": True, "views": {"ANT": {"network_lesions": 1, "kept": 0, "deleted": 1,
                                                  "not_lesions": {"degenerative": 1}}},
              "not_lesion_findings": [{"view": "ANT", "label": "degenerative", "region": "lumbar_spine",
                                       "laterality": "left"}]}
    report = report_dict(dataclasses.replace(prediction, review=review))
    words = _words(pdf_texts(report_pdf(report, _images(prediction))))
    assert "threshold" not in words and "outlined by the model" not in words
    assert "No lesion after review; 1 finding read as degenerative by the reader (lumbar spine, ANT)." in words
    assert "Read as no lesion by the reader: degenerative (lumbar spine, ANT)." in words
    # Audit 74, finding 5: a reviewed report's banner and footer said "machine draft"; still never a diagnosis.
    assert "REVIEWED OUTLINES, NOT A DIAGNOSIS" in words and "reviewed outlines, not a diagnosis · scintiseg" in words
    assert "machine draft, not" not in words.lower()


def test_a_dollar_in_a_name_is_printed_as_a_dollar_not_as_tex(nm1_report):
    report, _, images = nm1_report
    named = {**report, "patient": {**report["patient"], "name": "Doe$x_2$^Jane", "id": "P$1"}}
    words = _words(pdf_texts(report_pdf(named, images)))
    assert "Jane Doe$x_2$ · id P$1" in words
