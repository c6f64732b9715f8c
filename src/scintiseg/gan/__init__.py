"""Paper B §3.2.2: a DCGAN that generates thoracic crops with their lesion masks (the D3 data set).

Modules: ``config`` (GanConfig), ``dcgan`` (networks), ``data``, ``train``, ``sample``, ``quality`` /
``evaluate`` (sample statistics), ``d3`` (the generated data set). The D1 / D2 / D3 experiment is
:mod:`scintiseg.experiments.paper_b_augmentation`.
"""
