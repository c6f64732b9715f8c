"""The demo (``scintiseg demo`` / ``make demo``): the whole pipeline on phantom data, in one command.

phantom cohort -> thoracic crops -> train DPU-Net and U-Net -> test metrics -> whole-body prediction ->
``report.md`` (steps listed in :func:`run_demo`). Both networks get the same data, epochs, batch size,
learning rate, seed and input (anterior thoracic crop, counts divided by the body's 99th percentile), and
are compared on patients neither saw. The paper A numbers in the report are clinical ones, given for
context only (see docs/results.md).

Choices the issue leaves open (defaults of :class:`DemoSettings`, reasons and measurements in
docs/demo.md): 100 phantom patients (80 for training and validation, 20 for test), 256 x 256 crops
(paper B §2.1), width 8 (half the registry's CPU preset: four times cheaper per step, so more steps fit),
40 epochs, batch 8, Adam lr 1e-3 (the papers' 1e-4 with batch 32 needs their 200 epochs), on-the-fly
geometric augmentation, the output bias initialised to a lesion prior of 0.01
(``TrainConfig.head_prior``), and one torch thread when the machine is already busy. The labels are the
phantom lesions visible in the view (docs/phantom.md), which are sparse: with 20 epochs of batch 4 the
DPU-Net had not yet left the all-background state.

One concept per module: :mod:`.settings` (what the demo does, thread policy, the real scan's path),
:mod:`.state` (what it found out), :mod:`.steps`, :mod:`.figures`, :mod:`.markdown` (``report.md``) and
:mod:`.run` (:func:`run_demo`).

Example::

    from scintiseg.experiments.demo import DemoSettings, run_demo

    report = run_demo(DemoSettings(out="runs/demo"))
    print(report)        # runs/demo/report.md
"""

from scintiseg.experiments.demo.run import run_demo
from scintiseg.experiments.demo.settings import DemoSettings

__all__ = ["DemoSettings", "run_demo"]
