"""paper-b-augmentation: D1, D2, D3 share the real test patients; D2 and D3 train on as many images."""

from scintiseg.gan.experiment import augmentation_spec, prepare_datasets
from scintiseg.io import dataset as ds


def test_prepared_datasets_share_test_patients_and_sizes(real_crops, tmp_path):
    gan = {"native_size": 32, "output_size": 64, "latent_dim": 16, "base_width": 8, "batch_size": 2, "epochs": 1}
    paths = prepare_datasets(real_crops, tmp_path / "exp", factor=2, gan_settings=gan, test=0.25, folds=2, progress=False)
    splits = {name: ds.load_splits(paths[name]) for name in ("D1", "D2", "D3")}
    assert splits["D1"]["test"] == splits["D2"]["test"] == splits["D3"]["test"] and splits["D1"]["test"]
    n_train = len(splits["D1"]["train"])
    assert len(splits["D2"]["train"]) == len(splits["D3"]["train"]) == 2 * n_train
    for name in ("D2", "D3"):
        origin = {c.case_id: c.origin for c in ds.load_manifest(paths[name]).cases}
        assert all(origin[c] not in ("gan", "augment") for c in splits[name]["test"])
        assert [f["val"] for f in splits[name]["folds"]] == [f["val"] for f in splits["D1"]["folds"]]
    spec = augmentation_spec(paths)
    assert [row.overrides["data"] for row in spec.rows] == [str(paths[k]) for k in ("D1", "D2", "D3")]
    assert spec.base["fold"] == 0
    # re-running skips finished steps (nothing is rebuilt or overwritten)
    again = prepare_datasets(real_crops, tmp_path / "exp", factor=2, gan_settings=gan, test=0.25, folds=2, progress=False)
    assert again == paths
