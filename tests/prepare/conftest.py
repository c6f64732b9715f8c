"""Small synthetic whole-body scans for the prepare tests (the phantom package has its own, slower, ones)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import ellipse, line_aa

from scintiseg.phantom.patient import generate_patient
from scintiseg.prepare.views import mirror, shift_image
from scintiseg.scan import Annotation, Scan, Shape, mask_to_shapes


def toy_body_rates(rows: int = 1024, cols: int = 256, top: int = 90, scale: float = 1.0, posterior: bool = False):
    """Expected counts of a crude whole body (ANT frame): head, neck, shoulders, trunk with ribs, arms, legs.

    Returns (rates, landmarks) with the rows of the crown, the shoulder line and the lowest rib.
    """
    rates = np.zeros((rows, cols), dtype=np.float64)
    mid = cols // 2

    def row(fraction: float) -> int:
        return int(top + fraction * 770 * scale)

    def fill(r, c, value):
        rates[r, c] = np.maximum(rates[r, c], value)

    fill(*ellipse(row(0.065), mid, 0.065 * 770 * scale, 30 * scale, shape=rates.shape), 8)  # head
    fill(slice(row(0.12), row(0.16)), slice(mid - 16, mid + 16), 8)  # neck
    fill(*ellipse(row(0.30), mid, 0.16 * 770 * scale, 62 * scale, shape=rates.shape), 8)  # shoulders + trunk
    fill(slice(row(0.22), row(0.55)), slice(int(mid - 55 * scale), int(mid + 55 * scale)), 8)  # trunk
    for side in (-1, 1):
        arm = slice(int(mid + side * 80 * scale) - 12, int(mid + side * 80 * scale) + 12)
        fill(slice(row(0.17), row(0.58)), arm, 7)
        leg = slice(int(mid + side * 28 * scale) - 18, int(mid + side * 28 * scale) + 18)
        fill(slice(row(0.52), row(1.0)), leg, 7)
    # Skeleton: spine, clavicles, ribs; POST sees the spine brighter and the sternum fainter.
    fill(slice(row(0.14), row(0.55)), slice(mid - 4, mid + 4), 40 if posterior else 25)
    fill(slice(row(0.18), row(0.30)), slice(mid - 2, mid + 2), 12 if posterior else 30)  # sternum
    for k in range(10):
        r0 = row(0.175 + 0.022 * k)
        for side in (-1, 1):
            rr, cc, val = line_aa(r0, mid + side * 6, r0 + 14, int(mid + side * 50 * scale))
            keep = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
            rates[rr[keep], cc[keep]] = np.maximum(rates[rr[keep], cc[keep]], 8 + 20 * val[keep])
    fill(*ellipse(row(0.16), int(mid + 40 * scale), 6, 20, shape=rates.shape), 30)  # one clavicle hot
    fill(*ellipse(row(0.16), int(mid - 40 * scale), 5, 20, shape=rates.shape), 22)
    rates += 0.2  # background
    return rates, {"crown": top, "shoulder": row(0.15), "lowest_rib": row(0.175 + 0.022 * 9) + 14}


def toy_scan(seed: int = 0, *, shift=(0, 0), **kwargs) -> tuple[Scan, dict]:
    """A dual-view toy scan: POST stored as acquired, its mirror shifted by ``shift`` from ANT."""
    rng = np.random.default_rng(seed)
    ant_rates, marks = toy_body_rates(**kwargs)
    post_rates, _ = toy_body_rates(posterior=True, **kwargs)
    ant = rng.poisson(ant_rates).astype(np.uint16)
    post_frame = rng.poisson(shift_image(post_rates, shift, order=1)).astype(np.uint16)
    scan = Scan({"ANT": ant, "POST": mirror(post_frame)}, pixel_spacing=(2.26, 2.26), patient_id=f"T{seed}")
    return scan, marks


@pytest.fixture(scope="session")
def real_scan(real_nm1):
    """The real NEMA NM1 scan as read (skipped, naming the path looked at, where ../shared is not beside the repo)."""
    from scintiseg.io import read_scan

    return read_scan(real_nm1)


def lesion_instances(shape):
    """Lesion 1 on a rib (inside any thoracic crop), lesion 2 on the shin (outside); POST as acquired."""
    ant = np.zeros(shape, dtype=np.uint8)
    ant[240:246, 80:87] = 1
    ant[700:705, 100:104] = 2
    return {"ANT": ant, "POST": mirror(ant)}


def make_dataset(root, n=2):
    """A whole-body data set of ``n`` toy cases laid out like the phantom's: masks, regions, LabelMe files
    (``group_id`` = lesion id) and lesion-instance maps in ``meta["instances"]``, for both views."""
    from scintiseg.io.dataset import Case, DatasetManifest, save_manifest
    from scintiseg.io.dicom import write_dicom
    from scintiseg.io.images import write_label_png, write_mask_png
    from scintiseg.io.labelme import write_labelme

    cases = []
    for k in range(n):
        scan, _ = toy_scan(30 + k, shift=(0, 0))
        case_id = f"P{k:03d}"
        write_dicom(scan.with_views(scan.views, patient_id=case_id), root / f"images/{case_id}.dcm")
        lesions = [{"id": 1, "bone": "rib_left_5", "region": "ribs_left"},
                   {"id": 2, "bone": "tibia_left", "region": "tibia_fibula_left"}]
        entry = Case(case_id=case_id, patient_id=case_id, image=f"images/{case_id}.dcm", synthetic=True,
                     origin="phantom", meta={"lesions": lesions, "instances": {}})
        for view, ids in lesion_instances(scan.shape).items():
            write_mask_png(ids > 0, root / f"masks/{case_id}_{view}.png")
            write_label_png(ids, root / f"instances/{case_id}_{view}.png")
            regions = np.zeros(scan.shape, dtype=np.uint8)
            regions[250:400, 60:200] = 7
            write_label_png(regions if view == "ANT" else mirror(regions), root / f"regions/{case_id}_{view}.png")
            shapes = [
                Shape(s.label, s.points, s.shape_type, group_id=lesion_id)
                for lesion_id in (1, 2)
                for s in mask_to_shapes(ids == lesion_id, label="lesion")
            ]
            write_labelme(Annotation(shapes, scan.shape, view=view), root / f"labels/{case_id}_{view}.json",
                          image=scan.view(view))
            entry.masks[view] = f"masks/{case_id}_{view}.png"
            entry.regions[view] = f"regions/{case_id}_{view}.png"
            entry.labels[view] = f"labels/{case_id}_{view}.json"
            entry.meta["instances"][view] = f"instances/{case_id}_{view}.png"
        cases.append(entry)
    save_manifest(DatasetManifest(name="toy", views=["ANT", "POST"], pixel_spacing=(2.26, 2.26), cases=cases), root)
    return root


@pytest.fixture(scope="session")
def make_toy_scan():
    """The :func:`toy_scan` factory (fixtures, not imports: test modules never import each other)."""
    return toy_scan


@pytest.fixture(scope="session")
def make_toy_dataset():
    """The :func:`make_dataset` factory."""
    return make_dataset


@pytest.fixture(scope="session")
def phantom_patients():
    """Two default-profile phantom patients (about 2 s each)."""
    return [generate_patient(seed) for seed in (1001, 1004)]
