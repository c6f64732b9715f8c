"""The demo (``scintiseg demo`` / ``make demo``): the whole pipeline on phantom data, in one command.

phantom test cohort -> thoracic crops -> train DPU-Net and U-Net -> test metrics -> whole-body prediction ->
``report.md`` (steps listed in :func:`run_demo`). Both networks get the same data, epochs, batch size,
learning rate, seed and input, and are compared on patients neither saw. The paper A numbers in the report
are clinical ones, given for context only (see docs/results.md).

Two training recipes (:class:`DemoSettings`, reasons and the time arithmetic there and in docs/demo.md):

* ``synthetic`` (default, issue 13): the shipped model's recipe (``scripts/train_shipped_model.sh``) at a
  demo's budget. Phantom patients made on the fly from the domain-randomised profile, resampled to 2.26 mm,
  degraded like real archives, ``robust``-normalised, cut into 256 x 256 windows of the whole body; a pool of
  16 patients, a quarter replaced each epoch, 24 epochs. The demo's own cohort (20 patients of the default
  profile) is test data only, and prediction tiles the whole view.
* ``crops`` (the demo before issue 13): 100 phantom patients, thoracic crops (80 for training and
  validation, 20 for test), counts / body p99, 40 epochs; prediction sees the thoracic window only.

Both: width 8 (half the registry's CPU preset: four times cheaper per step, so more steps fit), batch 8,
Adam lr 1e-3 (the papers' 1e-4 with batch 32 needs their 200 epochs), on-the-fly geometric augmentation,
the output bias initialised to a lesion prior of 0.01 (``TrainConfig.head_prior``: lesions are sparse, and
with 20 epochs of batch 4 the DPU-Net had not yet left the all-background state), and one torch thread
when the machine is already busy.

One concept per module: :mod:`.settings` (what the demo does, thread policy, the real scan's path),
:mod:`.state` (what it found out), :mod:`.steps`, :mod:`.comparison` (DPU-Net minus U-Net per metric, paired over the
test patients), :mod:`.figures`, :mod:`.markdown` (``report.md``) and :mod:`.run` (:func:`run_demo`).

Example::

    from scintiseg.experiments.demo import DemoSettings, run_demo

    report = run_demo(DemoSettings(out="runs/demo"))
    print(report)        # runs/demo/report.md
"""

from scintiseg.experiments.demo.run import run_demo
from scintiseg.experiments.demo.settings import DemoSettings

__all__ = ["DemoSettings", "run_demo"]
