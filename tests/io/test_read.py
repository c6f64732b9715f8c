"""scintiseg.io.read: the read dispatcher, named by the package; the Scan-level repairs it applies beside their checks.

(read_scan's behaviour per format is tested with each format: test_images, test_dicom, test_layout, test_panels, ...)"""

import numpy as np
import pytest

import scintiseg.io
from scintiseg.errors import ScintisegError
from scintiseg.io import display_curve, images, layout, panels, read


def test_the_package_names_the_dispatcher_and_the_repairs_where_they_live():
    assert scintiseg.io.read_scan is read.read_scan and scintiseg.io.header_data_files is read.header_data_files
    assert scintiseg.io.stood_scan is layout.stood_scan and scintiseg.io.split_page is layout.split_page
    assert scintiseg.io.SPLIT_COLUMN == layout.SPLIT_COLUMN == "split_column"
    assert scintiseg.io.LOSSLESS_SYNTAXES is display_curve.LOSSLESS_SYNTAXES
    for name in ("blank_capture_panels", "blank_viewer_furniture", "inside_panels"):
        assert callable(getattr(panels, name))
    assert callable(images.undo_inverted_captures) and callable(display_curve.undo_scan_display_curve)


def test_an_unknown_view_choice_is_refused_before_the_file_is_read(tmp_path):
    np.save(tmp_path / "scan.npy", np.ones((64, 32), np.uint16))
    with pytest.raises(ScintisegError, match="view must be one of ANT, POST, name"):
        read.read_scan(tmp_path / "scan.npy", view="LAT")


@pytest.fixture(scope="module")
def exported_views(tmp_path_factory):
    """Phantom patient 3's views written as pictures export them: a side-by-side page (ANT left), a lone
    ``q3_POST.png``, and a study's ``p3_ANT.png`` + ``p3_POST.png``; and the scan they came from."""
    from scintiseg.io.images import write_png16
    from scintiseg.phantom import generate_patient

    scan = generate_patient(3).scan
    root = tmp_path_factory.mktemp("exported")
    for folder in ("page", "solo", "study"):
        (root / folder).mkdir()
    write_png16(np.hstack([scan.view("ANT"), scan.view("POST")]), root / "page" / "q3_page.png")
    write_png16(scan.view("POST"), root / "solo" / "q3_POST.png")
    write_png16(scan.view("ANT"), root / "study" / "p3_ANT.png")
    write_png16(scan.view("POST"), root / "study" / "p3_POST.png")
    return root, scan


def test_read_for_prediction_splits_a_page_and_names_a_view_that_read_scan_reads_as_stored(exported_views):
    """The README's reading (audit 74, finding 2): read_scan alone gives the page one 512-column view and the POST file
    an unnamed view that prediction takes for anterior; read_for_prediction gives the two views and POST."""
    root, scan = exported_views
    page, post = root / "page" / "q3_page.png", root / "solo" / "q3_POST.png"
    assert read.read_scan(page).view_names == ["VIEW"] and read.read_scan(page).shape == (1024, 512)
    assert read.read_scan(post).view_names == ["VIEW"]
    split = read.read_for_prediction(page)
    assert split.view_names == ["ANT", "POST"] and split.metadata["split_column"] == 256
    for view in ("ANT", "POST"):
        np.testing.assert_array_equal(split.view(view), scan.view(view))
    named = read.read_for_prediction(post)
    assert named.view_names == ["POST"] and "q3_POST.png" in named.metadata["view_from_name"]
    assert read.read_for_prediction(post, view="ANT").view_names == ["ANT"]  # --view ANT
    assert read.read_for_prediction(page, split_views=False).view_names == ["VIEW"]  # --no-split-views
    assert read.read_for_prediction(page, pixel_spacing=2.0).pixel_spacing == (2.0, 2.0)


def test_read_for_prediction_joins_a_study_s_two_files_anterior_first_in_either_order(exported_views):
    root, scan = exported_views
    ant, post = root / "study" / "p3_ANT.png", root / "study" / "p3_POST.png"
    for order in ((ant, post), (post, ant)):
        joined = read.read_for_prediction(*order)
        assert joined.view_names == ["ANT", "POST"] and joined.patient_id == "p3"
        assert joined.metadata["view_sources"] == {"ANT": str(ant), "POST": str(post)}
        for view in ("ANT", "POST"):
            np.testing.assert_array_equal(joined.view(view), scan.view(view))


def test_read_for_prediction_refuses_what_predict_would_not_join_in_one_line(exported_views):
    root, _ = exported_views
    study = [root / "study" / "p3_ANT.png", root / "study" / "p3_POST.png"]
    with pytest.raises(ScintisegError, match="reads one file, or a study's ANT and POST files: got 3 paths"):
        read.read_for_prediction(*study, root / "solo" / "q3_POST.png")
    with pytest.raises(ScintisegError, match="got 0 paths"):
        read.read_for_prediction()
    with pytest.raises(ScintisegError, match="are not one study's ANT and POST files"):  # other names, other folders
        read.read_for_prediction(study[0], root / "solo" / "q3_POST.png")
    with pytest.raises(ScintisegError, match="view='ANT' names one view"):
        read.read_for_prediction(*study, view="ANT")


def test_the_prediction_reading_is_predict_s_defaults_and_the_options_given():
    assert read.prediction_read_kwargs() == {"split_views": True, "view": "name"} == read.PREDICTION_READING
    assert read.prediction_read_kwargs(pixel_spacing=2.26, pixel_spacing_over_header=True, split_views=False,
                                       view="POST", shape="8x8", dtype="uint8") == {
        "split_views": False, "view": "POST", "pixel_spacing": 2.26, "shape": "8x8", "dtype": "uint8",
        "pixel_spacing_over_header": True}
