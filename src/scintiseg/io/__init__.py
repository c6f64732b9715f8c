"""Reading and writing scans, annotations and data sets.

``read_scan(path)`` reads any supported scan file (DICOM of any transfer syntax pydicom decodes,
``.npy``, 16-bit PNG or TIFF, raw matrices with an explicit shape) into a :class:`~scintiseg.scan.Scan`.
"""
