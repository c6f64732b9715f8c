"""LabelMe JSON: reading versions 4/5, rasterising as LabelMe, writing from masks, bad input."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage

from scintiseg.errors import ScintisegError
from scintiseg.io.labelme import mask_to_shapes, read_labelme, render_for_display, write_labelme
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
    missing = _write(tmp_path / "labels" / "m.json", [], image_data=False, image_path="../images/none.png")
    with pytest.raises(ScintisegError, match="does not exist"):
        read_labelme(missing, root=tmp_path)
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
    embedded = np.asarray(Image.open(io.BytesIO(base64.b64decode(doc["imageData"]))))
    np.testing.assert_array_equal(embedded, render_for_display(counts))
    back = read_labelme(tmp_path / "pred_POST.json")
    assert back.view == "POST" and back.image_shape == (30, 20)
    np.testing.assert_array_equal(back.to_mask(), mask)


def test_display_rendering_is_windowed_and_inverted():
    counts = np.array([[0, 10, 20, 1000]], dtype=np.uint16)
    rendered = render_for_display(counts)
    assert rendered.dtype == np.uint8 and rendered[0, 0] == 255 and rendered[0, 3] == 0
    assert rendered[0, 1] > rendered[0, 2]  # more counts, darker


def test_tiny_components_and_min_area():
    mask = np.zeros((10, 10), dtype=bool)
    mask[2, 2] = True  # one pixel
    mask[5, 3:8] = True  # a straight line
    shapes = mask_to_shapes(mask)
    assert len(shapes) == 2
    assert (Annotation(shapes, (10, 10)).to_mask() == mask).all()
    assert len(mask_to_shapes(mask, min_area=2)) == 1


def test_holes_are_filled():
    mask = np.zeros((9, 9), dtype=bool)
    mask[1:8, 1:8] = True
    mask[4, 4] = False
    back = Annotation.from_mask(mask).to_mask()
    assert back[4, 4] and (back ^ mask).sum() == 1


@st.composite
def blobs(draw):
    """Random hole-free 8-connected blobs of 20 pixels or more (smoothed noise, largest component)."""
    size = draw(st.integers(10, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    field = rng.random((size, size)) < draw(st.floats(0.3, 0.7))
    smooth = ndimage.gaussian_filter(field.astype(float), draw(st.floats(0.6, 3.0))) > 0.5
    labels, count = ndimage.label(ndimage.binary_fill_holes(smooth), np.ones((3, 3)))
    if count == 0:
        return None
    sizes = ndimage.sum(labels > 0, labels, range(1, count + 1))
    return labels == (int(np.argmax(sizes)) + 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blobs())
def test_round_trip_iou_on_random_blobs(mask):
    if mask is None or mask.sum() < 20:
        return
    back = Annotation.from_mask(mask).to_mask()
    iou = (mask & back).sum() / (mask | back).sum()
    assert iou >= 0.95
