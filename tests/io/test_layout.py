"""scintiseg.io.layout: ANT and POST exported side by side in one image, split into two views."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.io import read_scan
from scintiseg.io.images import write_png16
from scintiseg.errors import ScintisegError
from scintiseg.phantom import generate_patient
from scintiseg.io.layout import bodies_side_by_side, is_side_by_side, split_side_by_side, stand_lying_body


@pytest.mark.parametrize("shape, expected", [
    ((1024, 512), True), ((2048, 1024), True), ((512, 256), True), ((1024, 560), True),
    ((1024, 256), False),   # one whole-body view
    ((256, 512), False),    # two thoracic crops: too short for whole-body views
    ((1024, 1024), False), ((700, 256), False), ((2, 1024, 512), False),
])
def test_only_images_about_twice_as_tall_as_wide_and_whole_body_long_are_pairs(shape, expected):
    assert is_side_by_side(shape) is expected


def _body(rows: int, cols: int, left: int, right: int, level: float = 40.0) -> np.ndarray:
    """A bright column band (a 'body') between ``left`` and ``right`` on a faint background, its top tenth (a 'head')
    the middle third of its width: each side of a page's cut must start with a head (layout._head_on_top)."""
    image = np.full((rows, cols), 1.0)
    head = (rows - 100) // 10
    third = (right - left) // 3
    image[50:50 + head, left + third:right - third] = level
    image[50 + head:rows - 50, left:right] = level
    return image


def test_the_cut_falls_in_the_gap_between_the_bodies_and_the_halves_keep_every_pixel():
    image = _body(1024, 512, 40, 230) + _body(1024, 512, 300, 480) - 1.0  # gap 230-300, off the middle (256)
    stacked, cut = split_side_by_side(image)
    assert 230 <= cut <= 300
    assert stacked.shape == (2, 1024, max(cut, 512 - cut))
    ant, post = stacked
    np.testing.assert_array_equal(ant[:, ant.shape[1] - cut:], image[:, :cut])   # padded on its outer side
    np.testing.assert_array_equal(post[:, :512 - cut], image[:, cut:])
    assert ant[:, : ant.shape[1] - cut].sum() == 0 and post[:, 512 - cut:].sum() == 0


def test_bodies_that_touch_are_cut_near_the_middle():
    image = _body(1024, 512, 20, 262) + _body(1024, 512, 250, 490) - 1.0  # they overlap at 250-262
    _, cut = split_side_by_side(image)
    assert abs(cut - 256) <= 0.125 * 512


@pytest.mark.parametrize("seed", [3, 5, 6, 11, 28])
def test_two_phantom_views_written_side_by_side_are_cut_at_their_seam(seed):
    """Two 256-column views of one patient written side by side without a gap (an export of the pair as one page):
    cut at column 256 whole. Before session 74 the least-lit column was taken, empty or not: these patients, whose soft
    tissue reaches the views' edges or whose empty run straddles the seam, were cut at 255, 282, 293, 258 and 302,
    each view padded and shifted."""
    scan = generate_patient(seed).scan
    page = np.concatenate([scan.view("ANT"), scan.view("POST")], axis=1).astype(np.float64)
    stacked, cut = split_side_by_side(page)
    assert cut == 256 and stacked.shape == (2, 1024, 256)
    np.testing.assert_array_equal(stacked[0], scan.view("ANT"))
    np.testing.assert_array_equal(stacked[1], scan.view("POST"))


@pytest.mark.parametrize("seed", [0, 2, 5])
@pytest.mark.parametrize("rows", [slice(0, 512), slice(256, 768), slice(512, 1024)])
def test_half_of_one_view_is_not_taken_for_a_page_of_two(seed, rows):
    """A 512 x 256 field of one body (head to pelvis, chest to knees, pelvis to feet) has the shape of a page of two
    512 x 128 views. Before session 74 every lower and middle half of 40 phantom views and 25 of the 40 upper halves
    were split into two "views": two legs, or a trunk cut at the band's edge, pass the counts and widths; neither
    starts with a head (layout._head_on_top), nor has the trunk's cut a valley."""
    for view in ("ANT", "POST"):
        assert split_side_by_side(generate_patient(seed).scan.view(view)[rows].astype(np.float64)) is None


def test_an_empty_gap_holding_the_middle_is_cut_at_the_middle():
    image = _body(1024, 512, 40, 250) + _body(1024, 512, 290, 480) - 1.0  # gap 250-290 holds column 256
    stacked, cut = split_side_by_side(image)
    assert cut == 256 and stacked.shape == (2, 1024, 256)  # two halves of one width: neither padded


def test_a_single_view_is_not_split():
    assert split_side_by_side(_body(1024, 256, 60, 200)) is None


@pytest.mark.parametrize("left", [128, 60, 200])  # centred, and shifted either way
def test_one_body_in_a_frame_twice_as_wide_as_tall_stays_one_view(real_nm1, left):
    """NM1 (one 256-column body) drawn into a 1024 x 512 frame: the shape of a page, but one body. Before, it was
    cut at the edge of its trunk and 7 % of its counts (an arm) became "ANT"."""
    nm1 = read_scan(real_nm1).view("ANT").astype(np.float64)
    frame = np.zeros((1024, 512))
    frame[:, left:left + 256] = nm1
    assert is_side_by_side(frame.shape) and split_side_by_side(frame) is None
    page = np.concatenate([nm1, nm1[:, ::-1]], axis=1)
    assert split_side_by_side(page) is not None  # the same body twice is a page


@pytest.mark.parametrize("bodies", [3, 4])
def test_a_page_of_more_than_two_bodies_is_refused_in_one_line_unless_read_as_one_view(tmp_path, real_nm1, bodies):
    """Both views at two display windows, or two studies, across one page: which two bodies are ANT and POST the page
    does not say (before, NM1 four times across a page was read as one view and gave no lesion)."""
    nm1 = read_scan(real_nm1).view("ANT").astype(np.uint16)
    gap = np.zeros((1024, 20), np.uint16)
    parts = [nm1, gap, nm1[:, ::-1], gap, nm1 // 2, gap, nm1[:, ::-1] // 2][: 2 * bodies - 1]
    page = np.concatenate(parts, axis=1)
    assert bodies_side_by_side(page) == bodies
    path = tmp_path / "page.png"
    write_png16(page, path)
    with pytest.raises(ScintisegError, match=f"page.png: a page of {bodies} whole bodies side by side "
                                             rf"\(1024 x {page.shape[1]} pixels\)"):
        read_scan(path, split_views=True)
    assert read_scan(path).view_names == ["VIEW"]  # read as stored: one view, as asked


@pytest.mark.parametrize("width", [768, 1024, 1300])
def test_one_body_or_a_page_of_two_in_a_wide_frame_is_not_refused(real_nm1, width):
    """One body centred in a frame three to five times its width, with its arms apart from the trunk, is one body;
    two in such a frame are two; a known pixel size no wider than one camera's field is one view, whatever its shape."""
    nm1 = read_scan(real_nm1).view("ANT").astype(np.float64)
    frame = np.zeros((1024, width))
    frame[:, 100:356] = nm1
    assert bodies_side_by_side(frame) == 1
    frame[:, 141:148] = 0  # NM1's right arm (its columns 12-41) apart from the trunk: too narrow for a body
    assert bodies_side_by_side(frame) == 1
    frame[:, width - 256:] = nm1[:, ::-1]
    assert bodies_side_by_side(frame) == 2
    assert bodies_side_by_side(frame, col_mm=0.5) == 1  # 0.4-0.65 m wide: one camera's field
    if width >= 3 * 256 + 200:
        frame[:, 600:856] = nm1
        assert bodies_side_by_side(frame) == 3


def test_read_scan_splits_only_when_asked(tmp_path, real_nm1):
    nm1 = read_scan(real_nm1).view("ANT").astype(np.uint16)
    path = tmp_path / "page.png"
    write_png16(np.concatenate([nm1, nm1[:, ::-1]], axis=1), path)  # NM1 and its mirror as a whole-body page
    whole = read_scan(path)
    assert whole.view_names == ["VIEW"] and "views_split" not in whole.metadata  # data sets read it as it is
    scan = read_scan(path, split_views=True)
    assert scan.view_names == ["ANT", "POST"] and "cut at column 256" in scan.metadata["views_split"]
    np.testing.assert_array_equal(scan.view("ANT"), nm1)
    np.testing.assert_array_equal(scan.view("POST"), nm1[:, ::-1])
    assert scan.pixel_spacing == (2.26, 2.26)  # each view 1024 x 256: a whole-body view's field over its rows


def test_a_dicom_capture_of_a_page_is_split_but_named_views_are_kept(tmp_path):
    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan

    page = (_body(1024, 512, 40, 230) + _body(1024, 512, 300, 480)).astype(np.uint16)
    write_dicom(Scan({"VIEW": page}, pixel_spacing=(2.26, 2.26)), tmp_path / "capture.dcm")  # names no view
    scan = read_scan(tmp_path / "capture.dcm", split_views=True)
    assert scan.view_names == ["ANT", "POST"] and "views_split" in scan.metadata
    assert read_scan(tmp_path / "capture.dcm").view_names == ["VIEW"]  # only when asked
    write_dicom(Scan({"ANT": page}, pixel_spacing=(2.26, 2.26)), tmp_path / "named.dcm")
    assert read_scan(tmp_path / "named.dcm", split_views=True).view_names == ["ANT"]  # the header names it: kept


def test_a_known_pixel_size_narrower_than_one_camera_keeps_one_view():
    image = _body(1024, 512, 40, 230) + _body(1024, 512, 300, 480) - 1.0
    assert split_side_by_side(image, col_mm=1.1) is None       # 512 x 1.1 mm = 0.56 m: one detector's width
    assert split_side_by_side(image, col_mm=2.26) is not None  # 1.16 m: two views


def test_an_inverted_page_capture_is_split_then_read_back(tmp_path):
    from scintiseg.io.dicom import scan_to_dataset
    from scintiseg.scan import Scan

    expected = np.full((1024, 256), 0.5)
    expected[60:980, 60:200], expected[150:700, 120:136] = 8.0, 40.0  # body, spine
    expected[60:140, 60:100] = expected[60:140, 160:200] = 0.5  # beside the head
    view = np.clip(np.random.default_rng(4).poisson(expected), 0, 255).astype(np.uint8)
    page = 255 - np.concatenate([view, view[:, ::-1]], axis=1)  # hot = black on white, two bodies side by side
    ds = scan_to_dataset(Scan({"VIEW": page.astype(np.uint16)}, pixel_spacing=(2.26, 2.26)))
    ds.BitsAllocated = ds.BitsStored = 8  # an 8-bit screen capture
    ds.HighBit = 7
    ds.PixelData = page.tobytes()
    ds.save_as(tmp_path / "page.dcm", enforce_file_format=True)
    scan = read_scan(tmp_path / "page.dcm", split_views=True)
    assert scan.view_names == ["ANT", "POST"] and scan.metadata["display_inverted"] is True
    np.testing.assert_array_equal(scan.view("ANT"), view)
    np.testing.assert_array_equal(scan.view("POST"), view[:, ::-1])


@pytest.mark.parametrize("shape, turned", [
    ((256, 1024), True), ((128, 512), True), ((512, 2048), True),
    ((256, 700), False),   # under three times as wide as tall: a pelvis spot view, two bodies stacked
    ((100, 400), False),   # too short for a whole body
    ((1024, 256), False),  # standing
])
def test_a_body_lying_on_its_side_is_turned_a_quarter_clockwise(shape, turned):
    image = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    standing = stand_lying_body(image)
    assert (standing is not None) is turned
    if turned:
        assert standing.shape == shape[::-1]
        np.testing.assert_array_equal(standing[0], image[::-1, 0])  # the left column is now the top row


def test_a_known_pixel_size_keeps_a_short_or_wide_field_as_it_is():
    image = np.ones((256, 1024), np.float32)
    assert stand_lying_body(image, (2.26, 2.26)) is not None  # 2.3 m long, 0.58 m wide
    assert stand_lying_body(image, (2.26, 1.0)) is None  # 1.0 m long: not a whole body
    assert stand_lying_body(image, (3.0, 2.26)) is None  # 0.77 m wide: wider than a camera


def test_read_scan_turns_a_lying_image_only_when_asked_and_swaps_a_given_spacing(tmp_path, real_nm1):
    upright = read_scan(real_nm1).view("ANT")
    write_png16(np.rot90(upright, 1), tmp_path / "lying.png")
    assert read_scan(tmp_path / "lying.png").shape == (256, 1024)  # data sets: as it is
    scan = read_scan(tmp_path / "lying.png", split_views=True, pixel_spacing=(2.0, 2.26))
    assert scan.shape == (1024, 256) and scan.pixel_spacing == (2.26, 2.0)
    assert "stored lying (256 rows x 1024 columns)" in scan.metadata["turned_upright"]
    np.testing.assert_array_equal(scan.view("VIEW"), upright)  # stored a quarter counter-clockwise: now standing
    write_png16(np.rot90(upright, -1), tmp_path / "other_way.png")  # the other quarter: head at the bottom (prediction turns it)
    np.testing.assert_array_equal(read_scan(tmp_path / "other_way.png", split_views=True).view("VIEW"), np.rot90(upright, 2))


def test_a_dicom_frame_lying_is_turned_with_its_spacing_whether_or_not_it_names_its_view(tmp_path, real_nm1):
    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan

    upright = np.asarray(read_scan(real_nm1).view("ANT"), dtype=np.uint16)
    write_dicom(Scan({"VIEW": np.ascontiguousarray(np.rot90(upright, 1))}, pixel_spacing=(2.0, 2.26)), tmp_path / "lying.dcm")
    scan = read_scan(tmp_path / "lying.dcm", split_views=True)
    assert scan.shape == (1024, 256) and scan.pixel_spacing == (2.26, 2.0) and "turned_upright" in scan.metadata
    np.testing.assert_array_equal(scan.view("VIEW"), upright)
    write_dicom(Scan({"ANT": np.ascontiguousarray(np.rot90(upright, 1))}, pixel_spacing=(2.26, 2.26)), tmp_path / "named.dcm")
    named = read_scan(tmp_path / "named.dcm", split_views=True)  # a named view lying is stood too (as dataset import does)
    assert named.view_names == ["ANT"] and "turned_upright" in named.metadata
    np.testing.assert_array_equal(named.view("ANT"), upright)
    assert read_scan(tmp_path / "named.dcm").shape == (256, 1024)  # read as stored (a data set's reading)


def test_a_spacing_given_for_a_lying_dicom_frame_without_one_is_turned_with_it(tmp_path, real_nm1, monkeypatch):
    """``--pixel-spacing`` is given for the frame as stored: a frame without Pixel Spacing stood upright takes it
    swapped."""
    import scintiseg.io.read
    from scintiseg.io.dicom import write_dicom
    from scintiseg.scan import Scan

    upright = np.asarray(read_scan(real_nm1).view("ANT"), dtype=np.uint16)
    write_dicom(Scan({"VIEW": np.ascontiguousarray(np.rot90(upright, 1))}, pixel_spacing=(2.26, 2.26)), tmp_path / "lying.dcm")
    read = scintiseg.io.read.read_dicom

    def without_spacing(path):  # what read_dicom says of a file with no Pixel Spacing
        scan = read(path)
        scan.metadata["pixel_spacing_assumed"] = True
        return scan

    monkeypatch.setattr(scintiseg.io.read, "read_dicom", without_spacing)
    scan = read_scan(tmp_path / "lying.dcm", split_views=True, pixel_spacing=(2.0, 2.26))
    assert scan.shape == (1024, 256) and "turned_upright" in scan.metadata
    assert scan.pixel_spacing == (2.26, 2.0)


def test_the_narrower_left_view_is_padded_on_its_left():
    image = _body(1024, 512, 20, 200) + _body(1024, 512, 250, 480) - 1.0  # gap 200-250, left of the middle
    (ant, post), cut = split_side_by_side(image)
    assert 200 <= cut <= 250 and ant.shape[1] == 512 - cut > cut
    np.testing.assert_array_equal(ant[:, ant.shape[1] - cut:], image[:, :cut])
    assert ant[:, :ant.shape[1] - cut].sum() == 0


def test_a_body_with_a_bright_arm_apart_is_not_two_views():
    """The arm holds over a quarter of the counts but is a sixth of the trunk's width: one body, not a page."""
    image = _body(1024, 512, 60, 250) + _body(1024, 512, 270, 300, level=100.0) - 1.0
    assert split_side_by_side(image) is None


def test_of_two_gaps_the_cut_takes_the_one_nearest_the_middle():
    image = _body(1024, 512, 20, 195) + _body(1024, 512, 215, 250) + _body(1024, 512, 275, 490) - 2.0
    _, cut = split_side_by_side(image)
    assert 250 <= cut <= 275
