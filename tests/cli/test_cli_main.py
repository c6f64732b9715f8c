"""scintiseg.cli.main's stopping: SIGTERM raised as Ctrl-C in the command's process only (the run stopped mid-batch
is in tests/cli/test_predict.py)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from scintiseg.cli import Terminated, _stopped_line, _terminate


def test_sigterm_in_the_command_process_is_an_interrupt():
    before = signal.signal(signal.SIGTERM, _terminate(os.getpid()))
    try:
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler runs at the next instruction; never reached
    finally:
        signal.signal(signal.SIGTERM, before)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_process_forked_from_the_command_still_dies_of_sigterm():
    """A pool's worker, forked with the handler, is stopped by SIGTERM (ProcessPoolExecutor, SyntheticPool.close):
    raising there instead would print a worker's traceback and leave it exiting 1."""
    before = signal.signal(signal.SIGTERM, _terminate(os.getpid()))
    try:
        child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
        child.start()
        time.sleep(0.2)
        child.terminate()
        child.join(10)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert child.exitcode == -signal.SIGTERM


def test_the_stop_line_says_the_signal_and_what_was_done():
    stop = Terminated()
    stop.add_note("1 of 3 input(s) done")
    assert _stopped_line("predict", stop) == ("scintiseg predict: stopped (SIGTERM): 1 of 3 input(s) done", 143)
    assert _stopped_line("train", KeyboardInterrupt()) == ("scintiseg train: interrupted", 130)
