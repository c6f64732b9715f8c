"""Against the phantom's ground truth: lesion areas, the region estimate, laterality.

The phantom's true lesion masks are injected as the probability map, so what is measured is the
post-processing and the region estimate, not a network. Tolerances (recorded in docs/predict.md):
total lesion area within 2 % of the true area (contours rasterised as LabelMe does); the atlas region
agrees with the ground-truth region at 70 % of bone pixels and for 60 % of lesions (measured: about 80 %
and 77 % over phantom seeds 0-7).
"""

import numpy as np
import pytest

from support import blob_settings
from scintiseg import phantom
from scintiseg.predict.pipeline import predict_from_probabilities
from scintiseg.predict.regions import REGION_NAMES, estimate_regions


@pytest.fixture(scope="module")
def patients():
    return [phantom.generate_patient(seed, patient_id=f"T{seed}") for seed in (0, 4)]


def test_region_estimate_agrees_with_ground_truth_maps(patients):
    for patient in patients:
        for view in patient.scan.view_names:
            estimate = estimate_regions(patient.scan.view(view), view)
            truth = patient.regions[view]
            bone = truth > 0
            names = np.array(REGION_NAMES)[estimate.labels[bone]]
            truth_names = np.array([phantom.REGION_NAMES.get(int(i), "other") for i in range(int(truth.max()) + 1)])[truth[bone]]
            assert (names == truth_names).mean() >= 0.70, (patient.scan.patient_id, view)


def test_lesion_area_and_region_against_ground_truth(patients):
    agree = total = 0
    for patient in patients:
        probabilities = {v: patient.masks[v].astype(np.float32) for v in patient.scan.view_names}
        # Every true lesion kept: the count-based rules judge the counts, not the injected map (their own tests).
        prediction = predict_from_probabilities(patient.scan, probabilities,
                                                settings=blob_settings(0.5, 1))
        for view, result in prediction.views.items():
            true_area = int(patient.masks[view].sum())
            assert abs(int(result.mask.sum()) - true_area) <= 0.02 * true_area + 2
            for index, lesion in enumerate(result.lesions, start=1):
                ids = patient.regions[view][result.labels == index]
                ids = ids[ids > 0]
                truth = phantom.REGION_NAMES[int(np.bincount(ids).argmax())] if ids.size else "other"
                agree += truth == lesion.region
                total += 1
                if truth.endswith(("_left", "_right")) and lesion.region.endswith(("_left", "_right")):
                    assert truth.rsplit("_", 1)[1] == lesion.laterality  # the patient's side, on ANT and POST
    assert total >= 10
    assert agree / total >= 0.60
