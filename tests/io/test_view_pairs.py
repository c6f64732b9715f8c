"""A study's two views stored as two files (scintiseg.io.view_pairs): which files pair, by name or by DICOM study, and
when two files cannot be one scan."""

from pathlib import Path

import numpy as np
import pydicom
import pytest

from scintiseg.errors import ScintisegError
from scintiseg.io import read_scan
from scintiseg.io.dicom import one_view_header, write_dicom
from scintiseg.io.view_names import stem_without_view, words_besides_view
from scintiseg.io.view_pairs import find_view_pairs, join_views, joined_name
from scintiseg.scan import Scan

STUDY = "1.2.826.0.1.3680043.8.498.1"


def _touch(folder: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG\r\n\x1a\n")
        paths.append(path)
    return paths


def _view(value: int = 10, shape=(64, 32), dtype=np.uint16) -> np.ndarray:
    return np.full(shape, value, dtype=dtype)


def test_files_pair_by_their_names_in_one_folder_and_one_format(tmp_path):
    files = _touch(tmp_path, "p1_ANT.png", "p2.png", "p1_POST.png", "a/ANT.png", "a/POST.png", "b/ANT.png", "c/POST.png",
                   "q_ant.png", "q_post.jpg", "r_ANT.png", "r_POST.png", "r-posterior.png", "wb ant 7.png", "WB-Posterior-7.png")
    groups = [tuple(p.relative_to(tmp_path).as_posix() for p in g) for g in find_view_pairs(files)]
    assert groups == [
        ("p1_ANT.png", "p1_POST.png"),  # where its first file was
        ("p2.png",),
        ("a/ANT.png", "a/POST.png"),  # a patient's folder
        ("b/ANT.png",), ("c/POST.png",),  # other folders
        ("q_ant.png",), ("q_post.jpg",),  # other formats
        ("r_ANT.png",), ("r_POST.png",), ("r-posterior.png",),  # two POST: which one is not said
        ("wb ant 7.png", "WB-Posterior-7.png"),  # any case, any separator, the word anywhere
    ]


def test_the_ant_file_comes_first_whatever_the_order_given(tmp_path):
    post, ant = _touch(tmp_path, "x_POST.png", "x_ANT.png")
    assert find_view_pairs([post, ant]) == [(ant, post)]


def _one_view_dicom(path: Path, view: str, study: str = STUDY, patient: str = "P1", value: int = 10) -> Path:
    write_dicom(Scan({view: _view(value)}, pixel_spacing=(2.26, 2.26), patient_id=patient, study_uid=study), path)
    return path


def test_dicom_files_pair_by_study_and_header_view_whatever_their_names(tmp_path):
    ant = _one_view_dicom(tmp_path / "IM0001.dcm", "ANT")
    post = _one_view_dicom(tmp_path / "sub" / "IM0007.dcm", "POST", value=11)  # another folder: the study says it
    other = _one_view_dicom(tmp_path / "IM0002.dcm", "POST", study=STUDY + ".2", value=12)
    both = tmp_path / "both.dcm"
    write_dicom(Scan({"ANT": _view(), "POST": _view(13)}, pixel_spacing=(2.26, 2.26), study_uid=STUDY), both)
    assert one_view_header(ant) == {"study_uid": STUDY, "patient_id": "P1", "view": "ANT", "matrix": (64, 32)}
    assert one_view_header(both) is None  # two frames: a scan of its own
    assert find_view_pairs([ant, other, both, post]) == [(ant, post), (other,), (both,)]
    assert joined_name(ant, post) == "IM0001+IM0007"


def test_a_study_with_a_repeated_view_pairs_nothing_and_another_patient_never(tmp_path):
    ant = _one_view_dicom(tmp_path / "a.dcm", "ANT")
    post = _one_view_dicom(tmp_path / "b.dcm", "POST", value=11)
    again = _one_view_dicom(tmp_path / "c.dcm", "ANT", value=12)
    assert find_view_pairs([ant, post, again]) == [(ant,), (post,), (again,)]
    elsewhere = _one_view_dicom(tmp_path / "d.dcm", "POST", patient="P2", value=13)
    assert find_view_pairs([ant, elsewhere]) == [(ant,), (elsewhere,)]


def test_a_broken_or_unnamed_dicom_file_pairs_with_nothing_and_does_not_raise(tmp_path):
    ant = _one_view_dicom(tmp_path / "a.dcm", "ANT")
    broken = tmp_path / "b_POST.dcm"
    broken.write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 40)
    unnamed = tmp_path / "c.dcm"
    write_dicom(Scan({"VIEW": _view()}, pixel_spacing=(2.26, 2.26), study_uid=STUDY), unnamed)
    assert one_view_header(broken) is None
    assert find_view_pairs([ant, broken, unnamed]) == [(ant,), (broken,), (unnamed,)]


def test_a_dicom_file_without_a_view_in_its_header_is_named_by_its_file_name(tmp_path):
    ant = _one_view_dicom(tmp_path / "a.dcm", "ANT")
    named = tmp_path / "wb_post.dcm"
    write_dicom(Scan({"VIEW": _view(11)}, pixel_spacing=(2.26, 2.26), patient_id="P1", study_uid=STUDY), named)
    assert find_view_pairs([ant, named]) == [(ant, named)]


def test_names_of_joined_scans():
    assert joined_name("s/0123_ANT.jpg", "s/0123_POST.jpg") == "0123"
    assert joined_name("s/p7/ANT.png", "s/p7/POST.png") == "p7"
    assert joined_name("wb ant 7.png", "WB-Posterior-7.png") == "wb 7"
    assert words_besides_view("pant_post.png") == ("pant",) and stem_without_view("pant_post.png") == "pant"


def _scan(view: str, array: np.ndarray, spacing=(2.26, 2.26), source="x.png", **ids) -> Scan:
    return Scan({view: array}, pixel_spacing=spacing, source=Path(source), **ids)


def test_join_views_keeps_both_views_their_files_and_the_flags_of_either():
    ant = _scan("ANT", _view(1), source="d/0123_ANT.png", patient_id="0123_ANT")
    ant.metadata.update(pixel_spacing_assumed="rows", view_from_name="ANT: the file name says so")
    post = _scan("POST", _view(2), spacing=(2.265, 2.26), source="d/0123_POST.png", patient_id="0123_POST")
    post.metadata.update(display_inverted=True, view_from_name="POST: the file name says so")
    joined = join_views(ant, post)
    assert joined.view_names == ["ANT", "POST"] and joined.pixel_spacing == (2.26, 2.26)
    assert (joined.view("ANT") == 1).all() and (joined.view("POST") == 2).all()
    assert joined.patient_id == "0123" and joined.source == Path("d/0123_ANT.png")
    assert joined.metadata["view_sources"] == {"ANT": "d/0123_ANT.png", "POST": "d/0123_POST.png"}
    assert joined.metadata["display_inverted"] is True and joined.metadata["pixel_spacing_assumed"] == "rows"
    assert joined.metadata["view_from_name"] == "ANT: the file name says so; POST: the file name says so"
    assert joined.summary()["view_sources"] == joined.metadata["view_sources"]


def test_join_views_keeps_each_files_patient_directions_and_mirroring():
    """Each file's orientation record is its own view's (scintiseg.io.patient_sides): merged per view, not the
    anterior file's taken for both."""
    ant = _scan("ANT", _view(1))
    ant.metadata.update(patient_orientation={"ANT": "L\\F"})
    post = _scan("POST", _view(2))
    post.metadata.update(patient_orientation={"POST": "L\\F"}, mirrored=["POST"])
    joined = join_views(ant, post)
    assert joined.metadata["patient_orientation"] == {"ANT": "L\\F", "POST": "L\\F"}
    assert joined.metadata["mirrored"] == ["POST"]
    assert "mirrored" not in join_views(post.with_views({"ANT": ant.view("ANT")}), _scan("POST", _view(2))).metadata


@pytest.mark.parametrize("post, problem", [
    (_scan("POST", _view(shape=(64, 30))), "matrix (64 x 32 and 64 x 30)"),
    (_scan("POST", _view(), spacing=(2.4, 2.4)), "pixel size"),
    (_scan("POST", _view(), spacing=(2.26, 2.4)), "pixel size"),  # the columns' size differs, the rows' not
    (_scan("POST", _view(dtype=np.uint8)), "pixel type (uint16 and uint8)"),
    (_scan("ANT", _view()), "not one anterior and one posterior view"),
    (_scan("POST", _view(), study_uid=STUDY, patient_id="P2"), "other patients"),
])
def test_two_files_that_cannot_be_one_scan_are_refused_in_one_line(post, problem):
    ant = _scan("ANT", _view(), source="a_ANT.png", study_uid=STUDY, patient_id="P1")
    with pytest.raises(ScintisegError, match="a_ANT.png") as caught:
        join_views(ant, post)
    assert problem in caught.value.problem and "\n" not in str(caught.value)


def test_a_file_holding_the_body_lying_joins_only_another_held_alike(tmp_path):
    """A study's two files of which the reader stood one (stored lying) and read the other as stored: refused, naming
    both files and how each held the body; two stood alike still join, recording the turn once."""
    from scintiseg.io import stood_scan

    ant_file, post_file = tmp_path / "s_ANT.png", tmp_path / "s_POST.png"
    upright = Scan({"ANT": _view(1, shape=(600, 150))}, pixel_spacing=(4.0, 4.0), source=ant_file)
    lying = Scan({"POST": np.rot90(_view(2, shape=(600, 150)))}, pixel_spacing=(4.0, 4.0), source=post_file)
    stood = stood_scan(lying)
    assert stood.shape == upright.shape  # so the matrix check alone would join them
    with pytest.raises(ScintisegError, match="s_ANT.png") as caught:
        join_views(upright, stood)
    assert ("hold the body differently (s_ANT.png standing, s_POST.png lying on its side (150 x 600 as stored))"
            in caught.value.problem)
    with pytest.raises(ScintisegError, match="s_POST.png standing"):
        join_views(stood_scan(Scan({"ANT": np.rot90(upright.view("ANT"))}, pixel_spacing=(4.0, 4.0), source=ant_file)),
                   Scan({"POST": _view(2, shape=(600, 150))}, pixel_spacing=(4.0, 4.0), source=post_file))
    both = join_views(stood_scan(Scan({"ANT": np.rot90(upright.view("ANT"))}, pixel_spacing=(4.0, 4.0), source=ant_file)),
                      stood)
    assert both.metadata["stood"] == "quarter_clockwise" and both.metadata["stored_shape"] == [150, 600]


def test_nm1_and_a_posterior_written_as_ge_writes_it_are_one_study(real_nm1, tmp_path):
    """NM1 is GE's anterior Secondary Capture (private name WHOLE BODY_E); the same file renamed _F with another
    instance UID is its posterior as GE would store it: the two pair by study and join."""
    ds = pydicom.dcmread(real_nm1)
    ds.save_as(tmp_path / "E.dcm")
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=["nm1-post"])
    for element in ds:
        if str(element.value) == "WHOLE BODY_E":  # ImageID and GE's private dataset names
            element.value = "WHOLE BODY_F"
    ds.save_as(tmp_path / "F.dcm")
    (pair,) = find_view_pairs([tmp_path / "F.dcm", tmp_path / "E.dcm"])
    assert pair == (tmp_path / "E.dcm", tmp_path / "F.dcm")
    joined = join_views(*(read_scan(p) for p in pair))
    assert joined.view_names == ["ANT", "POST"] and joined.patient_id == "8NM1" and joined.shape == (1024, 256)


def test_files_of_one_name_in_sibling_view_folders_pair(tmp_path):
    """BS-80K's layout: wholeBodyANT/0001.jpg + wholeBodyPOST/0001.jpg pair (the folders say the views); 0002 with no
    POST stays alone; a crop folder without its other-view sibling names nothing."""
    files = _touch(tmp_path, "wholeBodyANT/0001.jpg", "wholeBodyANT/0002.jpg", "wholeBodyPOST/0001.jpg", "kneeLANT/0001.jpg")
    groups = [tuple(p.relative_to(tmp_path).as_posix() for p in g) for g in find_view_pairs(files)]
    assert groups == [("wholeBodyANT/0001.jpg", "wholeBodyPOST/0001.jpg"), ("wholeBodyANT/0002.jpg",), ("kneeLANT/0001.jpg",)]
    assert joined_name(*find_view_pairs(files)[0]) == "0001"


def test_spot_views_of_the_study_do_not_stop_its_whole_body_pair(tmp_path):
    """A whole-body study with spot views (GE: every one-frame view its own file): the 64 x 32 pair joins, the spot
    views (another matrix, two ANT) are a group of their own and join nothing."""
    ant = _one_view_dicom(tmp_path / "wb_e.dcm", "ANT")
    post = _one_view_dicom(tmp_path / "wb_f.dcm", "POST", value=11)
    spots = []
    for k in range(2):
        path = tmp_path / f"spot{k}.dcm"
        write_dicom(Scan({"ANT": _view(20 + k, shape=(32, 32))}, pixel_spacing=(2.26, 2.26), patient_id="P1", study_uid=STUDY), path)
        spots.append(path)
    assert find_view_pairs([ant, spots[0], post, spots[1]]) == [(ant, post), (spots[0],), (spots[1],)]


def test_random_folders_of_files_are_grouped_into_a_partition_of_one_ant_one_post_pairs(tmp_path):
    """400 files of random names (view words in any case and place, folders named for views or not): every file is in
    exactly one group, groups keep the files' order, a pair is an ANT then a POST file that say their views by name
    or folder, share everything else, and no file that pairs is left alone while its one partner is."""
    from scintiseg.io.view_names import view_from_path

    rng = np.random.default_rng(22)
    words = ["ant", "ANT", "Anterior", "post", "POST", "posterior", "wb", "7", "p1", "p2", "x", "scan"]
    folders = ["", "a", "wholeBodyANT", "wholeBodyPOST", "ant", "post", "p1/ANT", "p1/POST", "post_therapy"]
    names = set()
    for _ in range(400):
        stem = rng.choice(["_", "-", " "]).join(rng.choice(words, size=rng.integers(1, 4)))
        names.add(f"{rng.choice(folders)}/{stem}{rng.choice(['.png', '.jpg'])}".lstrip("/"))
    files = _touch(tmp_path, *sorted(names))
    groups = find_view_pairs(files)
    flat = [path for group in groups for path in group]
    assert sorted(flat) == sorted(files) and len(flat) == len(set(flat))
    first = [min(files.index(path) for path in group) for group in groups]  # a pair where its first file was
    assert first == sorted(first)
    assert sum(len(group) == 2 for group in groups) >= 5  # the draw holds pairs of each kind
    for group in groups:
        if len(group) == 2:
            ant, post = group
            assert view_from_path(ant)[0] == "ANT" and view_from_path(post)[0] == "POST"
            assert ant.suffix == post.suffix and joined_name(ant, post)
