"""``scintiseg.train.unlabelled``: a site's scans as windows for adaptation (the mix: test_site_mix.py)."""

from __future__ import annotations

import numpy as np
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io.dataset import TURNED_KEY, Case, DatasetManifest, save_manifest
from scintiseg.io.dicom import write_dicom
from scintiseg.io.images import write_png16
from scintiseg.io.labelme import write_labelme
from scintiseg.io.voc import VocBox, read_voc_folders, write_voc
from scintiseg.losses import BOX_IGNORE, BOX_LESION
from scintiseg.predict.windows import whole_view_windows
from scintiseg.prepare.resample import resample_scan
from scintiseg.scan import Annotation, Scan
from scintiseg.train.unlabelled import SiteScans, SiteView, build_views, read_site, site_windows


def _scan(seed: int = 0, shape=(64, 32), spacing=(4.52, 4.52)) -> Scan:
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    body = 30.0 * ((np.abs(cols - shape[1] / 2) < shape[1] / 3) & (rows > 4))
    body[20:24, 10:14] += 200.0
    ant = rng.poisson(body).astype(np.float32)
    post = rng.poisson(body[:, ::-1] * 0.8).astype(np.float32)
    return Scan({"ANT": ant, "POST": post}, pixel_spacing=spacing, patient_id=f"P{seed}")


def test_views_are_what_prediction_builds_at_the_model_pixel_size():
    scan = _scan()
    views = build_views(scan, None, "c", pixel_mm=2.26, normalisation="robust")
    assert [v.view for v in views] == ["ANT", "POST"]
    predicted = whole_view_windows(resample_scan(scan, (2.26, 2.26)), "ant", "robust")
    assert views[0].image.shape == (1, 128, 64)  # 4.52 mm -> 2.26 mm doubles each side
    for view, window in zip(views, predicted):
        np.testing.assert_array_equal(view.image, window.image)  # POST mirrored, as prediction reads it
    assert not any(v.labelled for v in views) and all(v.target.sum() == 0 for v in views)


def test_a_view_is_labelled_only_when_it_has_a_mask_which_follows_the_resampling():
    scan = _scan()
    mask = np.zeros(scan.shape, bool)
    mask[20:24, 10:14] = True
    ant, post = build_views(scan, {"ANT": mask}, "c", pixel_mm=2.26, normalisation="robust")
    assert ant.labelled and not post.labelled
    assert ant.target[0, 40:48, 20:28].all() and ant.target.sum() == 64  # 4 x 4 px at 4.52 mm = 8 x 8 at 2.26 mm
    assert post.target.sum() == 0


def _site(n: int = 3, labelled: bool = False) -> SiteScans:
    views = []
    for k in range(n):
        image = np.full((1, 40, 20), float(k + 1), np.float32)
        target = np.zeros((1, 40, 20), np.float32)
        views.append(SiteView(f"c{k}", f"p{k}", "ANT", image, target, labelled))
    return SiteScans(views)


def test_site_windows_are_seeded_by_epoch_and_unlabelled():
    site = _site()
    first, flags = site_windows(site, 12, 32, seed=3, epoch=0)
    again, _ = site_windows(site, 12, 32, seed=3, epoch=0)
    other, _ = site_windows(site, 12, 32, seed=3, epoch=1)
    assert len(first) == 12 and flags == [False] * 12
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again))
    assert not all(np.array_equal(a.image, b.image) for a, b in zip(first, other))
    assert all(s.image.shape == (1, 32, 32) and s.target.shape == (1, 32, 32) for s in first)
    # Each window is cut from one view (its constant value) and zero-padded where the view is narrower.
    assert {float(s.image.max()) for s in first} <= {1.0, 2.0, 3.0}


def test_read_site_reads_scans_lists_bad_files_and_refuses_an_empty_folder(tmp_path):
    site = tmp_path / "site"
    (site / "ward").mkdir(parents=True)
    write_dicom(_scan(1), site / "a.dcm")
    write_png16(_scan(2).view("ANT").astype(np.uint16), site / "ward" / "b.png")
    (site / "notes.txt").write_text("not a scan\n")
    (site / "a_ANT.json").write_text("{}")  # LabelMe files are not scans
    read = read_site(site, pixel_mm=4.52, normalisation="robust")
    assert [(v.case_id, v.view) for v in read.views] == [("a", "ANT"), ("a", "POST"), ("b", "VIEW")]
    assert read.unlabelled_views == 3 and read.labelled_views == 0
    assert [p.rsplit("/", 1)[-1] for p, _ in read.skipped] == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScintisegError, match="no scan could be read"):
        read_site(tmp_path / "empty", pixel_mm=2.26, normalisation="robust")
    with pytest.raises(ScintisegError, match="no such"):
        read_site(tmp_path / "missing", pixel_mm=2.26, normalisation="robust")


def test_read_site_counts_pseudo_labelled_views_apart_and_trains_them_like_labelled_ones(tmp_path):
    scan = _scan(3)
    write_dicom(scan, tmp_path / "a.dcm")
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "images" / "a.dcm").write_bytes((tmp_path / "a.dcm").read_bytes())
    (tmp_path / "a.dcm").unlink()
    mask = np.zeros(scan.shape, bool)
    mask[20:24, 10:14] = True
    write_labelme(Annotation.from_mask(mask, view="ANT"), tmp_path / "labels" / "a_ANT.pseudo.json")
    write_labelme(Annotation.from_mask(np.zeros(scan.shape, bool), view="POST"), tmp_path / "labels" / "a_POST.json")
    case = Case(case_id="a", patient_id="P3", image="images/a.dcm", origin="clinical", meta={"pseudo": ["ANT"]},
                labels={"ANT": "labels/a_ANT.pseudo.json", "POST": "labels/a_POST.json"})
    save_manifest(DatasetManifest(name="site", views=["ANT", "POST"], pixel_spacing=(4.52, 4.52), cases=[case]), tmp_path)
    read = read_site(tmp_path, pixel_mm=4.52, normalisation="robust")
    ant, post = read.views
    assert ant.labelled and ant.pseudo and post.labelled and not post.pseudo
    assert (read.pseudo_views, read.labelled_views, read.unlabelled_views) == (1, 1, 0)
    np.testing.assert_array_equal(ant.target[0] > 0.5, mask)


_BOXES = (VocBox("Abnormal", rows=(20, 23), cols=(10, 13)), VocBox("Normal", rows=(40, 43), cols=(4, 7)),
          VocBox("Abnormal", rows=(50, 52), cols=(20, 22), difficult=True), VocBox("Artefact", rows=(8, 9), cols=(8, 9)))


def test_boxes_label_a_view_by_kind_and_follow_the_resampling_and_the_posterior_mirror():
    scan = _scan()
    ant, post = build_views(scan, None, "c", pixel_mm=2.26, normalisation="robust", boxes={"POST": _BOXES})
    assert not ant.labelled and post.labelled and post.boxed and not ant.boxed
    target = post.target[0]  # POST is mirrored into ANT's orientation: column c of 32 lands at 31 - c
    assert (target[40:48, 36:44] == BOX_LESION).all() and (target == BOX_LESION).sum() == 64
    assert (target[100:106, 18:24] == BOX_IGNORE).all() and (target[16:20, 44:48] == BOX_IGNORE).all()
    assert (target[80:88, 48:56] == 0).all()  # a benign box is background
    assert set(np.unique(target)) == {BOX_IGNORE, BOX_LESION, 0.0}
    # An outline of the view wins over its boxes.
    mask = np.zeros(scan.shape, bool)
    mask[20:24, 10:14] = True
    _, outlined = build_views(scan, {"POST": mask}, "c", pixel_mm=2.26, normalisation="robust", boxes={"POST": _BOXES})
    assert outlined.labelled and not outlined.boxed and set(np.unique(outlined.target)) == {0.0, 1.0}


def test_read_site_labels_the_files_its_boxes_annotate_and_notes_the_ones_it_cannot_use(tmp_path):
    site, voc = tmp_path / "site", tmp_path / "voc"
    site.mkdir()
    scan = _scan()
    for name in ("a", "b", "c"):
        write_png16(scan.view("ANT").astype(np.uint16), site / f"{name}.png")
    write_dicom(scan, site / "two.dcm")
    write_voc(voc / "a.xml", "a.png", scan.shape, _BOXES)
    write_voc(voc / "b.xml", "b.png", (32, 32), _BOXES[:1])  # another image's size
    write_voc(voc / "two.xml", "two.dcm", scan.shape, _BOXES)  # a file of two views: which?
    write_voc(site / "c.xml", "c.png", scan.shape, ())  # beside its image, read as no scan; not given as boxes
    read = read_site(site, pixel_mm=2.26, normalisation="robust", boxes=read_voc_folders([voc]))  # PNGs: 2.26 assumed
    assert [(v.case_id, v.view, v.boxed) for v in read.views] == [
        ("a", "VIEW", True), ("b", "VIEW", False), ("c", "VIEW", False), ("two", "ANT", False), ("two", "POST", False)]
    assert read.skipped == [] and (read.boxed_views, read.labelled_views, read.unlabelled_views) == (1, 0, 4)
    assert (read.views[0].target[0, 20:24, 10:14] == BOX_LESION).all()
    notes = dict(read.box_notes)
    assert "32x32 image" in notes[str(voc / "b.xml")] and "names no view" in notes[str(voc / "two.xml")]
    # An annotation without boxes labels its view lesion-free (a reader saw nothing), labelled and boxed.
    read = read_site(site, pixel_mm=2.26, normalisation="robust", boxes=read_voc_folders([site / "c.xml"]))
    third = read.views[2]
    assert third.case_id == "c" and third.labelled and third.target.sum() == 0


def test_a_data_set_case_finds_its_boxes_by_its_original_file(tmp_path):
    scan = _scan(2)
    one = Scan({"ANT": scan.view("ANT")}, pixel_spacing=scan.pixel_spacing, patient_id="P2")
    (tmp_path / "images").mkdir()
    write_dicom(one, tmp_path / "images" / "case1.dcm")
    case = Case(case_id="case1", patient_id="P2", image="images/case1.dcm", origin="clinical",
                meta={"source": "ward/0042.png"})
    save_manifest(DatasetManifest(name="site", views=["ANT"], pixel_spacing=(4.52, 4.52), cases=[case]), tmp_path)
    write_voc(tmp_path / "boxes" / "0042.xml", "0042.png", one.shape, _BOXES[:1])
    read = read_site(tmp_path, pixel_mm=4.52, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]))
    assert read.boxed_views == 1 and (read.views[0].target[0, 20:24, 10:14] == BOX_LESION).all()



def test_a_joined_study_finds_each_views_boxes_by_that_views_own_file(tmp_path):
    """A study imported from two files (``dataset import`` joins ``0042_ANT.png`` and ``0042_POST.png``): a VOC
    file of the posterior file labels the POST view only, mirrored into ANT's orientation as the model reads it."""
    scan = _scan(6)
    (tmp_path / "images").mkdir()
    write_dicom(scan, tmp_path / "images" / "0042.dcm")
    case = Case(case_id="0042", patient_id="P6", image="images/0042.dcm", origin="clinical",
                meta={"source": "ward/0042_ANT.png", "view_sources": {"ANT": "ward/0042_ANT.png", "POST": "ward/0042_POST.png"}})
    save_manifest(DatasetManifest(name="site", views=["ANT", "POST"], pixel_spacing=(4.52, 4.52), cases=[case]), tmp_path)
    write_voc(tmp_path / "boxes" / "0042_POST.xml", "0042_POST.png", scan.shape, _BOXES[:1])
    read = read_site(tmp_path, pixel_mm=4.52, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]))
    ant, post = read.views
    assert (ant.boxed, post.boxed) == (False, True) and read.box_notes == []
    assert (post.target[0, 20:24, 18:22] == BOX_LESION).all() and (post.target == BOX_LESION).sum() == 16  # 31 - c


def test_with_orient_a_head_down_scan_is_read_turned_its_outline_and_boxes_with_it(tmp_path):
    scan = _scan(4)
    one = Scan({"ANT": scan.view("ANT")[::-1].copy()}, pixel_spacing=scan.pixel_spacing, patient_id="P4")  # head-down
    write_dicom(one, tmp_path / "down.dcm")
    write_voc(tmp_path / "boxes" / "down.xml", "down.dcm", one.shape, _BOXES[:1])  # rows 20-23 as stored

    def orient(read: Scan):  # stands in for the region network's judgement (predict.pipeline.read_upright)
        return read.with_views({v: np.asarray(i)[::-1] for v, i in read.views.items()}), "head_down"

    site = tmp_path / "site"
    site.mkdir()
    (tmp_path / "down.dcm").rename(site / "down.dcm")
    read = read_site(site, pixel_mm=4.52, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]),
                     orient=orient)
    (view,) = read.views
    assert read.turned == [(str(site / "down.dcm"), "head_down")]
    target = view.target[0]  # the box follows the turn: rows 20-23 of 64 as stored are rows 40-43 upright
    assert (target[40:44, 10:14] == BOX_LESION).all() and (target == BOX_LESION).sum() == 16
    assert view.image[0, 20:24, 10:14].mean() > 2 * view.image[0].mean()  # the hot spot upright at rows 20-23
    # A turn other than a row reversal leaves boxes drawn on the file unusable: listed, the scan kept unlabelled.
    read = read_site(site, pixel_mm=4.52, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]),
                     orient=lambda s: (s, "stood_the_other_way"))
    assert not read.views[0].labelled and "its boxes not used" in read.box_notes[0][1]


def test_a_plain_folder_is_read_as_prediction_reads_it_a_file_named_post_is_posterior(tmp_path):
    scan = _scan(5)
    write_png16(scan.view("POST").astype(np.uint16), tmp_path / "p7_POST.png")
    (view,) = read_site(tmp_path, pixel_mm=2.26, normalisation="robust").views
    assert view.view == "POST"
    np.testing.assert_array_equal(view.image, build_views(Scan({"POST": scan.view("POST")}, pixel_spacing=(2.26, 2.26)),
                                                          None, "p", pixel_mm=2.26, normalisation="robust")[0].image)


def test_a_data_set_case_stored_head_down_is_read_upright_its_boxes_with_it(tmp_path):
    """``dataset import`` found the scan head-down (``meta["read_turned"]``): the data set reads it upright, and the
    boxes a reader drew on the file as stored follow, with or without ``orient``."""
    scan = _scan(4)
    one = Scan({"ANT": scan.view("ANT")[::-1].copy()}, pixel_spacing=scan.pixel_spacing, patient_id="P4")
    (tmp_path / "images").mkdir()
    write_dicom(one, tmp_path / "images" / "down.dcm")
    case = Case(case_id="down", patient_id="P4", image="images/down.dcm", origin="clinical",
                meta={"source": "ward/down.png", TURNED_KEY: "head_down"})
    save_manifest(DatasetManifest(name="site", views=["ANT"], pixel_spacing=(4.52, 4.52), cases=[case]), tmp_path)
    write_voc(tmp_path / "boxes" / "down.xml", "down.png", one.shape, _BOXES[:1])  # rows 20-23 as stored
    for orient in (None, lambda s: (s, "")):  # the region network then finds the scan upright
        read = read_site(tmp_path, pixel_mm=4.52, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]),
                         orient=orient)
        (view,) = read.views
        assert read.turned == [("down", "head_down")]
        assert (view.target[0, 40:44, 10:14] == BOX_LESION).all() and (view.target[0] == BOX_LESION).sum() == 16
        assert view.image[0, 20:24, 10:14].mean() > 2 * view.image[0].mean()  # the hot spot upright at rows 20-23


@pytest.mark.parametrize("k, how", [(1, "quarter_clockwise"), (-1, "quarter_counterclockwise")])
def test_a_data_set_case_stood_at_import_takes_the_boxes_drawn_on_its_lying_file_turned_with_it(tmp_path, k, how):
    """``dataset import`` wrote the case standing (``meta["stood"]``); boxes drawn on the lying file it came from
    follow the quarter turn, either way."""
    scan = _scan(4)
    standing = Scan({"ANT": scan.view("ANT")}, pixel_spacing=scan.pixel_spacing, patient_id="P4")
    lying = np.rot90(standing.view("ANT"), k)  # the file as stored; rot90(lying, -k) stands it
    spot = np.zeros(standing.shape, dtype=bool)
    spot[20:24, 10:14] = True
    lying_spot = np.rot90(spot, k)
    rows, cols = np.flatnonzero(lying_spot.any(1)), np.flatnonzero(lying_spot.any(0))
    (tmp_path / "images").mkdir()
    write_dicom(standing, tmp_path / "images" / "lying.dcm")
    case = Case(case_id="lying", patient_id="P4", image="images/lying.dcm", origin="clinical",
                meta={"source": "ward/lying.png", "stood": how})
    save_manifest(DatasetManifest(name="site", views=["ANT"], pixel_spacing=(4.52, 4.52), cases=[case]), tmp_path)
    box = VocBox("Abnormal", rows=(int(rows[0]), int(rows[-1])), cols=(int(cols[0]), int(cols[-1])))
    write_voc(tmp_path / "boxes" / "lying.xml", "lying.png", lying.shape, (box,))
    read = read_site(tmp_path, pixel_mm=4.52, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]))
    (view,) = read.views
    assert read.box_notes == [] and view.labelled
    assert (view.target[0, 20:24, 10:14] == BOX_LESION).all() and (view.target[0] == BOX_LESION).sum() == 16


@pytest.mark.parametrize("k, other_way", [(1, False), (-1, True)])
def test_a_plain_folders_lying_file_takes_its_boxes_turned_with_the_body(tmp_path, k, other_way):
    """A file holding a body lying: the reader stands it a quarter clockwise, and ``orient`` (the region network)
    the other quarter when that leaves it head-down; boxes drawn on the file as stored follow either way."""
    rng = np.random.default_rng(3)
    standing = rng.poisson(20.0, (1024, 256)).astype(np.float64)  # 2.26 mm assumed: no resampling
    standing[500:506, 100:106] += 400.0
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    write_png16(np.rot90(standing, k).astype(np.uint16), site_dir / "lying.png")
    spot = np.zeros(standing.shape, dtype=bool)
    spot[500:506, 100:106] = True
    drawn = np.rot90(spot, k)
    rows, cols = np.flatnonzero(drawn.any(1)), np.flatnonzero(drawn.any(0))
    box = VocBox("Abnormal", rows=(int(rows[0]), int(rows[-1])), cols=(int(cols[0]), int(cols[-1])))
    write_voc(tmp_path / "boxes" / "lying.xml", "lying.png", drawn.shape, (box,))
    from scintiseg.io.layout import QUARTER_COUNTERCLOCKWISE, STOOD_KEY

    def orient(scan):  # stands in for the region network: head-down after the reader's quarter when stored k=-1
        if not other_way:
            return scan, ""
        turned = scan.with_views({v: np.rot90(scan.view(v), 2) for v in scan.view_names})
        turned.metadata[STOOD_KEY] = QUARTER_COUNTERCLOCKWISE
        return turned, "stood_the_other_way"

    read = read_site(site_dir, pixel_mm=2.26, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]),
                     orient=orient)
    assert read.box_notes == [] and read.views[0].labelled
    assert (read.views[0].target[0] == BOX_LESION).sum() == 36
    assert (read.views[0].target[0, 500:506, 100:106] == BOX_LESION).all()


def test_boxes_drawn_on_a_page_of_two_views_label_each_view_in_a_folder_and_in_a_data_set(tmp_path):
    """A page of ANT and POST side by side: the reader splits it (a plain folder), or ``dataset import`` did
    (``meta["split_at_column"]``); boxes drawn on the page are cut with it, each view labelled by its part."""
    from scintiseg.io.importer import import_dataset

    rng = np.random.default_rng(5)
    page = rng.poisson(1.0, (512, 256)).astype(np.float64)
    page[20:60, 54:74] += 40.0  # two heads (each side of a page's cut starts with one: scintiseg.io.layout)
    page[20:60, 182:202] += 40.0
    page[60:500, 34:94] += 40.0
    page[60:500, 162:222] += 40.0
    folder = tmp_path / "scans"
    folder.mkdir()
    write_png16(page.astype(np.uint16), folder / "page.png")
    boxes = (VocBox("Abnormal", rows=(100, 105), cols=(50, 55)), VocBox("Abnormal", rows=(300, 303), cols=(190, 193)))
    write_voc(tmp_path / "boxes" / "page.xml", "page.png", page.shape, boxes)
    annotations = read_voc_folders([tmp_path / "boxes"])
    import_dataset([folder], tmp_path / "ds", orient=lambda scan: (scan, ""))
    for site_dir in (folder, tmp_path / "ds"):
        read = read_site(site_dir, pixel_mm=4.52, normalisation="robust", boxes=annotations)
        assert read.box_notes == [] and [v.view for v in read.views] == ["ANT", "POST"]
        ant, post = (view.target[0] == BOX_LESION for view in read.views)
        assert ant.any() and post.any()
        # (512 rows: 4.52 mm assumed, the model's grid) the left box on ANT, the right one on POST less the cut
        assert ant.sum() == 36 and ant[100:106, 50:56].all() and post.sum() == 16 and post[300:304, 62:66].all()


def test_a_data_set_case_joined_from_two_lying_files_takes_each_files_boxes_turned_onto_its_view(tmp_path):
    from scintiseg.io.importer import import_dataset

    rng = np.random.default_rng(6)
    scans = tmp_path / "scans"
    scans.mkdir()
    for view in ("ANT", "POST"):
        standing = rng.poisson(20.0, (1024, 256)).astype(np.uint16)
        write_png16(np.rot90(standing, 1), scans / f"S2_{view}.png")  # each file stored lying
    spot = np.zeros((1024, 256), dtype=bool)
    spot[500:506, 100:106] = True
    drawn = np.rot90(spot, 1)
    rows, cols = np.flatnonzero(drawn.any(1)), np.flatnonzero(drawn.any(0))
    box = VocBox("Abnormal", rows=(int(rows[0]), int(rows[-1])), cols=(int(cols[0]), int(cols[-1])))
    write_voc(tmp_path / "boxes" / "S2_POST.xml", "S2_POST.png", drawn.shape, (box,))  # on the POST file as stored
    import_dataset([scans], tmp_path / "ds", orient=lambda scan: (scan, ""))
    read = read_site(tmp_path / "ds", pixel_mm=2.26, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]))
    assert read.box_notes == [] and [(v.view, v.labelled) for v in read.views] == [("ANT", False), ("POST", True)]
    assert (read.views[1].target[0] == BOX_LESION).sum() == 36


def test_a_dicom_view_stored_mirrored_takes_its_boxes_mirrored_back_with_it(tmp_path):
    """A DICOM view whose header says it is stored mirrored (its detector's Image Orientation (Patient)): the reader
    mirrors it back, and the boxes drawn on the file as stored follow (scintiseg.io.patient_sides)."""
    from scintiseg.io.dicom import scan_to_dataset

    rng = np.random.default_rng(4)
    upright = rng.poisson(20.0, (1024, 256)).astype(np.uint16)
    upright[500:506, 40:46] += 400
    ds = scan_to_dataset(Scan({"ANT": upright[:, ::-1].copy()}, pixel_spacing=(2.26, 2.26), patient_id="m"))
    ds.DetectorInformationSequence[0].ImageOrientationPatient = [-1, 0, 0, 0, 0, -1]  # the patient's left on the right
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    ds.save_as(site_dir / "mirrored.dcm", enforce_file_format=True)
    box = VocBox("Abnormal", rows=(500, 505), cols=(256 - 46, 256 - 41))  # where the spot lies in the file
    write_voc(tmp_path / "boxes" / "mirrored.xml", "mirrored.dcm", (1024, 256), (box,))
    read = read_site(site_dir, pixel_mm=2.26, normalisation="robust", boxes=read_voc_folders([tmp_path / "boxes"]))
    assert read.box_notes == [] and read.views[0].labelled
    assert (read.views[0].target[0] == BOX_LESION).sum() == 36
    assert (read.views[0].target[0, 500:506, 40:46] == BOX_LESION).all()
