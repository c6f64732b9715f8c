"""Fixtures of the reporting tests: the real NM1 scan, blob probability maps and the tiny untrained network,
re-used from tests/predict/conftest.py (test folders are not packages, so that file is loaded by path)."""

from __future__ import annotations

from support import conftest_of

_predict = conftest_of("predict")
nm1_path = _predict.nm1_path
nm1_scan = _predict.nm1_scan
make_blobs = _predict.make_blobs
make_tiny_network = _predict.make_tiny_network
