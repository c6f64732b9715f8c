"""Reporting: everything a person or a PACS reads about one predicted scan, and the batch runner that writes it.

    from scintiseg.io import read_scan
    from scintiseg.predict import load_model, predict_scan
    from scintiseg.report.outputs import write_outputs

    prediction = predict_scan(read_scan("scan.dcm"), load_model())
    write_outputs(prediction, "out/scan")

Modules: :mod:`.outputs` (every file of one scan, atomically), :mod:`.report_json` (``report.json``),
:mod:`.html` (``report.html``), :mod:`.overlay` (mask and overlay PNGs), :mod:`.dicom_out` (DICOM SR and
GSPS through highdicom), :mod:`.batch` (many inputs, one folder per scan, ``summary.csv``).
This package sits after :mod:`scintiseg.predict`: it imports predict, io and scan; predict never imports it.
Nothing is imported here, so ``import scintiseg.report.batch`` stays as light as its own imports. See
docs/predict.md.
"""
