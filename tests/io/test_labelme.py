"""LabelMe JSON: reading versions 4/5 (shapes rasterised as LabelMe does), writing, bad input.

Tracing masks into polygons is tested in ``tests/test_geometry.py``."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from scintiseg.errors import ScintisegError
from scintiseg.display import render_display
from scintiseg.io import labelme
from scintiseg.io.labelme import read_labelme, write_labelme
from scintiseg.scan import Annotation


def _png_b64(height, width):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((height, width), dtype=np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _write(path, shapes, *, version="5.2.1", height=20, width=10, image_data=True, image_path="img.png", **extra):
    doc = {
        "version": version,
        "flags": {},
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": _png_b64(height, width) if image_data else None,
        "imageHeight": height,
        "imageWidth": width,
        **extra,
    }
    path.write_text(json.dumps(doc))
    return path


def _shape(points, shape_type="polygon", label="lesion"):
    return {"label": label, "points": points, "group_id": None, "shape_type": shape_type, "flags": {}}


def test_reads_v4_and_v5_shapes_as_labelme_rasterises(tmp_path):
    shapes = [
        _shape([[1, 1], [4, 1], [4, 3], [1, 3]]),
        _shape([[8, 15], [6, 12]], "rectangle"),  # corners in reverse order
        _shape([[5, 8], [5, 10]], "circle", label="bladder"),
        _shape([[2, 2]], "point"),
    ]
    for version in ("4.5.6", "5.2.1"):
        with pytest.warns(UserWarning, match="1 point"):
            ann = read_labelme(_write(tmp_path / f"a_{version}_ANT.json", shapes, version=version))
        assert ann.image_shape == (20, 10) and ann.view == "ANT"
        assert ann.labels == ["bladder", "lesion"] and len(ann.shapes) == 3
        lesion = ann.to_mask(["lesion"])
        assert lesion[1:4, 1:5].all() and lesion[12:16, 6:9].all()
        assert lesion.sum() == 4 * 3 + 3 * 4  # edges included, nothing more
        assert ann.to_mask()[8, 5] and not ann.to_mask()[8, 0]


def test_label_filter(tmp_path):
    path = _write(tmp_path / "f.json", [_shape([[1, 1], [4, 1], [4, 3]]), _shape([[1, 5], [3, 5], [3, 7]], label="x")])
    assert [s.label for s in read_labelme(path, labels=["x"]).shapes] == ["x"]


def test_null_image_data_needs_an_existing_image_inside_root(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    Image.fromarray(np.zeros((20, 10), dtype=np.uint8)).save(tmp_path / "images" / "p.png")
    good = _write(tmp_path / "labels" / "p.json", [], image_data=False, image_path="../images/p.png")
    assert read_labelme(good, root=tmp_path).image_shape == (20, 10)
    with pytest.raises(ScintisegError, match="outside the data set folder"):
        read_labelme(good)  # root defaults to the JSON's folder
    escaping = _write(tmp_path / "labels" / "e.json", [], image_path="../../../etc/passwd")
    with pytest.raises(ScintisegError, match="outside"):
        read_labelme(escaping, root=tmp_path)
    # A caller whose image is known (a predicted view: the scan) reads it as if it named none: the path neither
    # resolved nor returned, the size from the embedded image or the declared sides (session 62).
    ignored = read_labelme(escaping, root=tmp_path, outside_image_path="pass_over")
    assert ignored.image_path is None and ignored.image_shape == read_labelme(good, root=tmp_path).image_shape
    # ...but only where the file embeds its image or declares its size: the path is otherwise needed (session 63:
    # decided here, not by a caller parsing the JSON again).
    doc = json.loads(escaping.read_text())
    (tmp_path / "labels" / "n.json").write_text(json.dumps({**doc, "imageData": None, "imageWidth": None}))
    with pytest.raises(ScintisegError, match="points outside its folder .*neither embeds its image"):
        read_labelme(tmp_path / "labels" / "n.json", root=tmp_path, outside_image_path="pass_over")
    (tmp_path / "labels" / "d.json").write_text(json.dumps({**doc, "imageData": None}))
    assert read_labelme(tmp_path / "labels" / "d.json", root=tmp_path, outside_image_path="pass_over").image_shape \
        == (20, 10)
    with pytest.raises(ValueError, match="outside_image_path"):
        read_labelme(good, root=tmp_path, outside_image_path="ignore")
    missing = _write(tmp_path / "labels" / "m.json", [], image_data=False, image_path="../images/none.png")
    with pytest.raises(ScintisegError, match="does not exist"):
        read_labelme(missing, root=tmp_path)
    # A caller that knows the image (a prediction's file saved without its image data) takes the declared size;
    # without a declared size the missing image is still an error.
    assert read_labelme(missing, root=tmp_path, image_optional=True).image_shape == (20, 10)
    doc = json.loads(missing.read_text())
    del doc["imageWidth"]
    (tmp_path / "labels" / "w.json").write_text(json.dumps(doc))
    with pytest.raises(ScintisegError, match=r"does not exist .*declares no image size \(imageHeight, imageWidth\)"):
        read_labelme(tmp_path / "labels" / "w.json", root=tmp_path, image_optional=True)
    sized_only = _write(tmp_path / "labels" / "s.json", [], image_data=False, image_path="")
    assert read_labelme(sized_only, root=tmp_path).image_shape == (20, 10)
    doc = json.loads(sized_only.read_text())
    del doc["imageHeight"]
    (tmp_path / "labels" / "n.json").write_text(json.dumps(doc))
    with pytest.raises(ScintisegError, match="no imagePath"):
        read_labelme(tmp_path / "labels" / "n.json", root=tmp_path)


def test_image_size_is_taken_from_the_image_when_not_declared(tmp_path):
    Image.fromarray(np.zeros((7, 9), dtype=np.uint8)).save(tmp_path / "img.png")
    doc = {"version": "4.0.0", "shapes": [], "imagePath": "img.png", "imageData": None}
    (tmp_path / "s.json").write_text(json.dumps(doc))
    assert read_labelme(tmp_path / "s.json").image_shape == (7, 9)


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "malformed JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"version": "5.0.1"}', "no 'shapes'"),
    ],
)
def test_malformed_files(tmp_path, content, match):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(ScintisegError, match=match) as info:
        read_labelme(tmp_path / "bad.json")
    assert str(tmp_path / "bad.json") in str(info.value)


def test_points_outside_the_image(tmp_path):
    path = _write(tmp_path / "o.json", [_shape([[1, 1], [40, 1], [4, 3]])])
    with pytest.raises(ScintisegError, match="outside the 20x10 image"):
        read_labelme(path)


def test_bad_shapes_and_size_mismatch(tmp_path):
    with pytest.raises(ScintisegError, match="at least 3"):
        read_labelme(_write(tmp_path / "two.json", [_shape([[1, 1], [2, 2]])]))
    with pytest.raises(ScintisegError, match="invalid points"):
        read_labelme(_write(tmp_path / "pts.json", [_shape([[1, "a"], [2, 2], [3, 3]])]))
    doc = json.loads(_write(tmp_path / "size.json", []).read_text())
    doc["imageData"] = _png_b64(5, 5)
    (tmp_path / "size.json").write_text(json.dumps(doc))
    with pytest.raises(ScintisegError, match="imageData is 5x5"):
        read_labelme(tmp_path / "size.json")


def test_write_then_read_round_trip_with_embedded_image(tmp_path):
    mask = np.zeros((30, 20), dtype=bool)
    mask[3:9, 4:10] = True
    mask[15:25, 12:18] = ndimage.binary_dilation(np.eye(10, 6, dtype=bool), iterations=1)
    counts = np.random.default_rng(0).poisson(5, size=mask.shape).astype(np.uint16)
    ann = Annotation.from_mask(mask, view="POST")
    write_labelme(ann, tmp_path / "pred_POST.json", image=counts)
    doc = json.loads((tmp_path / "pred_POST.json").read_text())
    assert doc["imagePath"] == "pred_POST.png" and doc["view"] == "POST" and doc["version"].startswith("5.")
    picture = Image.open(io.BytesIO(base64.b64decode(doc["imageData"])))
    np.testing.assert_array_equal(np.asarray(picture), render_display(counts))
    # A viewer shows the same greys (a palette PNG whose palette is the grey ramp).
    np.testing.assert_array_equal(np.asarray(picture.convert("RGB")), np.repeat(render_display(counts)[..., None], 3, axis=2))
    back = read_labelme(tmp_path / "pred_POST.json")
    assert back.view == "POST" and back.image_shape == (30, 20)
    np.testing.assert_array_equal(back.to_mask(), mask)


def test_display_rendering_is_windowed_and_inverted():
    counts = np.array([[0, 10, 20, 1000]], dtype=np.uint16)
    rendered = render_display(counts)
    assert rendered.dtype == np.uint8 and rendered[0, 0] == 255 and rendered[0, 3] == 0
    assert rendered[0, 1] > rendered[0, 2]  # more counts, darker


# ------------------------------------------------------------------ hostile and damaged files (issue 14)


def _refused(path, match, **kwargs):
    """Read ``path`` expecting exactly one ScintisegError that names the file and matches ``match``."""
    with pytest.raises(ScintisegError, match=match) as info:
        read_labelme(path, **kwargs)
    assert info.value.path == str(path) and "\n" not in str(info.value)
    return info.value


TRIANGLE = [[1, 1], [5, 1], [5, 5]]


@pytest.mark.parametrize(
    "bad, match",
    [
        (int("9" * 401), "not a finite number"),  # OverflowError in float() before the fix
        (10**300, "outside the 20x10 image"),  # finite as a float: simply far away
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (float("-inf"), "not a finite number"),
        (True, "numbers, not bool"),  # numpy would read it as 1.0
        ("1", "numbers, not str"),  # numpy would read it as 1.0
        (None, "numbers, not NoneType"),
        ([1], "numbers, not list"),
    ],
    ids=["401-digits", "1e300", "nan", "inf", "-inf", "bool", "str", "null", "list"],
)
def test_coordinates_must_be_finite_numbers(tmp_path, bad, match):
    path = _write(tmp_path / "c.json", [_shape([[bad, 1], [5, 1], [5, 5]])])
    problem = _refused(path, match).problem
    assert problem.startswith("shape 1 ('lesion')") and len(problem) < 200


@pytest.mark.parametrize(
    "points",
    [[1, 1, 5, 1, 5, 5], [[1, 1, 1], [5, 1, 1], [5, 5, 1]], [[1, 1], [5], [5, 5]], "1,1 5,1 5,5", {"x": 1}, None, 3],
)
def test_points_must_be_a_list_of_pairs(tmp_path, points):
    path = _write(tmp_path / "p.json", [_shape(points)])
    _refused(path, r"shape 1 \('lesion'\): invalid points \(not a list of \[x, y\] pairs")


def test_the_bad_shape_is_named_among_many(tmp_path):
    shapes = [_shape(TRIANGLE) for _ in range(10)]
    shapes[7] = _shape([[1, 1], [5, float("nan")], [5, 5]], label="l7")
    _refused(_write(tmp_path / "nan.json", shapes), r": shape 8 \('l7'\): invalid points")
    shapes[7] = _shape([[1, 1], [5, 1], [5, 55]], label="l7")
    _refused(_write(tmp_path / "out.json", shapes), r": shape 8 \('l7'\) has points outside")


@pytest.mark.parametrize("shapes", [["x"], [None], [[1, 2]]])
def test_shapes_must_be_objects(tmp_path, shapes):
    _refused(_write(tmp_path / "s.json", shapes), "shape 1 is not an object")


@pytest.mark.parametrize("shapes", [{"a": 1}, None, "polygon", 3])
def test_shapes_must_be_a_list(tmp_path, shapes):
    _refused(_write(tmp_path / "s.json", shapes), "no 'shapes' list")


@pytest.mark.parametrize(
    "height, match",
    [
        (20.5, "whole number of pixels"),
        (True, "whole number of pixels"),
        ("20", "whole number of pixels"),
        ([20], "whole number of pixels"),
        (float("nan"), "whole number of pixels"),
        (-5, "between 1 and 8192"),
        (0, "between 1 and 8192"),
        (10**9, "between 1 and 8192"),
        (int("9" * 401), "between 1 and 8192"),
        (8193, "between 1 and 8192"),
    ],
    ids=["fraction", "bool", "str", "list", "nan", "negative", "zero", "1e9", "401-digits", "8193"],
)
def test_image_height_must_be_a_plausible_whole_number(tmp_path, height, match):
    path = _write(tmp_path / "h.json", [_shape(TRIANGLE)], image_data=False, image_path="", imageHeight=height)
    tracemalloc.start()
    try:
        problem = _refused(path, match).problem
        assert tracemalloc.get_traced_memory()[1] < 20_000_000  # refused before allocating an image
    finally:
        tracemalloc.stop()
    assert problem.startswith("imageHeight ") and len(problem) < 200


def test_image_size_limits(tmp_path):
    accepted = _write(tmp_path / "ok.json", [], image_data=False, image_path="", imageHeight=2048.0, imageWidth=8192)
    assert read_labelme(accepted).image_shape == (2048, 8192)  # 2048.0 is a whole number; 16.7 M pixels
    too_many = _write(tmp_path / "big.json", [], image_data=False, image_path="", imageHeight=8192, imageWidth=4096)
    _refused(too_many, "8192x4096 image is too large")
    _refused(_write(tmp_path / "w.json", [], image_data=False, image_path="", imageWidth=0), "imageWidth 0")


def test_embedded_image_must_decode_and_match_the_declared_size(tmp_path):
    path = _write(tmp_path / "m.json", [], imageHeight=512, imageWidth=10, imageData=_png_b64(1024, 10))
    _refused(path, "imageData is 1024x10 but imageHeight x imageWidth says 512x10")

    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 255, size=(20, 10), dtype=np.uint8)
    Image.fromarray(noise).save(buffer, format="PNG")
    truncated = base64.b64encode(buffer.getvalue()[: len(buffer.getvalue()) // 2]).decode()
    _refused(_write(tmp_path / "t.json", [], imageData=truncated), "imageData is not a readable image")
    _refused(_write(tmp_path / "g.json", [], imageData="bm90IGFuIGltYWdl"), "imageData is not a readable image")
    _refused(_write(tmp_path / "n.json", [], imageData=5), "imageData is not a base64 string")
    for image_format in ("JPEG", "BMP"):  # LabelMe embeds JPEG (for .jpg images) or PNG, never BMP
        buffer = io.BytesIO()
        Image.new("L", (10, 20)).save(buffer, format=image_format)
        path = _write(tmp_path / f"{image_format}.json", [], imageData=base64.b64encode(buffer.getvalue()).decode())
        if image_format == "JPEG":
            assert read_labelme(path).image_shape == (20, 10)
        else:
            _refused(path, "not a PNG or JPEG")

    buffer = io.BytesIO()
    Image.new("L", (1, 8193)).save(buffer, format="PNG")  # 8193 rows, a few hundred bytes
    huge = _write(tmp_path / "huge.json", [], imageData=base64.b64encode(buffer.getvalue()).decode(),
                  imageHeight=None, imageWidth=None)
    _refused(huge, "8193x1 image")


def test_an_annotation_that_names_no_image_needs_its_size(tmp_path):
    """As write_labelme writes it without an image: the size is all that ties it to its scan."""
    for image_path in ("", None):
        path = _write(tmp_path / "a.json", [_shape(TRIANGLE)], image_data=False, image_path=image_path)
        assert read_labelme(path).image_shape == (20, 10)
    _refused(_write(tmp_path / "h.json", [], image_data=False, image_path="", imageHeight=None), "no imagePath")
    _refused(_write(tmp_path / "p.json", [], image_data=False, image_path=5), "imagePath is not a string")


def test_only_one_declared_side_is_checked_against_the_image(tmp_path):
    Image.fromarray(np.zeros((7, 9), dtype=np.uint8)).save(tmp_path / "img.png")
    good = _write(tmp_path / "g.json", [], image_data=False, imageHeight=7, imageWidth=None)
    assert read_labelme(good).image_shape == (7, 9)
    bad = _write(tmp_path / "b.json", [], image_data=False, imageHeight=8, imageWidth=None)
    _refused(bad, "imagePath image img.png is 7x9 but imageHeight x imageWidth says 8x?")


def test_shape_types(tmp_path):
    lines = [_shape([[1, 1], [5, 5]], kind) for kind in ("line", "linestrip", "point", "points")]
    path = _write(tmp_path / "lines.json", [_shape(TRIANGLE), *lines])
    with pytest.warns(UserWarning, match="skipped shapes that enclose no area") as record:
        ann = read_labelme(path)
    assert len(record) == 1 and len(ann.shapes) == 1

    corners = [[1, 2], [6, 7], [4, 9], [-1, 4]]  # LabelMe's oriented_rectangle: 4 corners in order
    oriented = read_labelme(_write(tmp_path / "o.json", [_shape(corners, "oriented_rectangle")]))
    as_polygon = read_labelme(_write(tmp_path / "q.json", [_shape(corners)]))
    assert oriented.to_mask().sum() > 20
    np.testing.assert_array_equal(oriented.to_mask(), as_polygon.to_mask())
    _refused(_write(tmp_path / "o3.json", [_shape(corners[:3], "oriented_rectangle")]), "needs 4 points")

    untyped = _shape(TRIANGLE)
    del untyped["shape_type"]
    assert read_labelme(_write(tmp_path / "u.json", [untyped])).shapes[0].shape_type == "polygon"

    mask_shape = {**_shape([[1, 1], [5, 5]], "mask"), "mask": _png_b64(5, 5)}
    _refused(_write(tmp_path / "mask.json", [mask_shape]), "'mask' shape .* not read")
    for kind in ("blob", "ai_polygon", 3, ""):
        _refused(_write(tmp_path / "x.json", [_shape(TRIANGLE, kind)]), "unknown shape_type")


@pytest.mark.parametrize("group_id", ["1", 1.5, True, float("inf"), [1]])
def test_group_id_must_be_a_whole_number_or_null(tmp_path, group_id):
    shape = {**_shape(TRIANGLE), "group_id": group_id}
    _refused(_write(tmp_path / "g.json", [shape]), r"shape 1 \('lesion'\): group_id")


def test_group_id_is_kept(tmp_path):
    shapes = [{**_shape(TRIANGLE), "group_id": 2}, {**_shape(TRIANGLE), "group_id": 3.0}, _shape(TRIANGLE)]
    assert [s.group_id for s in read_labelme(_write(tmp_path / "g.json", shapes)).shapes] == [2, 3, None]


def test_limits_on_shapes_points_and_file_size(tmp_path, monkeypatch):
    many = _write(tmp_path / "many.json", [{}] * (labelme.MAX_SHAPES + 1))
    _refused(many, f"{labelme.MAX_SHAPES + 1:,} shapes")
    monkeypatch.setattr(labelme, "MAX_POINTS", 10)
    _refused(_write(tmp_path / "pts.json", [_shape(TRIANGLE)] * 3 + [_shape(TRIANGLE)]), "more than 10 points")
    assert len(read_labelme(_write(tmp_path / "ok.json", [_shape(TRIANGLE)] * 3)).shapes) == 3
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(labelme.MAX_FILE_BYTES + 1)  # sparse: nothing written
    _refused(big, "larger than")


@pytest.mark.parametrize(
    "text",
    ['{"shapes": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}", '{"shapes": [], "x": 1' + "0" * 5000 + "}"],
    ids=["nested", "long-number"],
)
def test_unparseable_json_is_one_error(tmp_path, text):
    (tmp_path / "j.json").write_text(text)
    _refused(tmp_path / "j.json", "malformed JSON")


def test_a_folder_is_named_as_no_labelme_file(tmp_path):
    (tmp_path / "readers").mkdir()
    _refused(tmp_path / "readers", "a folder, not a LabelMe file")


@pytest.mark.parametrize(
    "points, extra, match",
    [
        ([[int("9" * 401), 1], [5, 1], [5, 5]], {}, "not a finite number"),
        (TRIANGLE, {"imageHeight": 10**9}, "between 1 and 8192"),
    ],
    ids=["401-digit-coordinate", "imageHeight-1e9"],
)
def test_consensus_command_prints_one_line_and_exits_2(tmp_path, points, extra, match):
    no_image = {"image_data": False, "image_path": ""}
    readers = [str(_write(tmp_path / f"{name}.json", [_shape(TRIANGLE)], **no_image)) for name in "AB"]
    readers.append(str(_write(tmp_path / "C.json", [_shape(points)], **no_image, **extra)))
    result = subprocess.run(
        [sys.executable, "-m", "scintiseg", "annotations", "consensus", *readers],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"scintiseg annotations: error: {readers[2]}: ") and re.search(match, lines[0])


def test_an_image_path_the_file_system_refuses_is_one_line(tmp_path):
    """A name longer than the file system allows (a fuzzed file: OSError ENAMETOOLONG from the lookup, session 49)."""
    path = tmp_path / "long.json"
    path.write_text(json.dumps({"version": "5.4.1", "flags": {}, "shapes": [], "imagePath": "a" * 300 + ".png",
                                "imageData": None, "imageHeight": None, "imageWidth": None}))
    with pytest.raises(ScintisegError, match=r"long.json: imagePath 'a+\.\.\..* cannot be looked up"):
        read_labelme(path)


def test_a_point_up_to_one_pixel_outside_is_read_and_beyond_refused(tmp_path):
    """OUTSIDE_TOLERANCE: on a 20 x 10 image, x up to 9 + 1 and y up to 19 + 1 are read; a little more is an error."""
    edge = _write(tmp_path / "edge.json", [_shape([[1, 1], [10.0, 1], [4, 20.0]])])
    assert len(read_labelme(edge).shapes) == 1
    for points in ([[1, 1], [10.01, 1], [4, 3]], [[1, 1], [4, 1], [4, 20.01]]):
        with pytest.raises(ScintisegError, match="outside the 20x10 image"):
            read_labelme(_write(tmp_path / "past.json", [_shape(points)]))
