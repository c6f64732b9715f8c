"""scintiseg.cli.main's stopping: SIGTERM raised as Ctrl-C in the command's process only (the run stopped mid-batch
is in tests/cli/test_predict.py)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from scintiseg.cli import Terminated, _stopped_line, _terminate, main


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


@pytest.mark.parametrize("argv, named", [
    (["predict", "", "--out", "OUT"], "an argument"),  # read as the current folder: every scan under it predicted
    (["predict", "scan.dcm", "--out", ""], "--out"),
    (["predict", "scan.dcm", "--out="], "--out"),
    (["info", ""], "an argument"),
])
def test_an_empty_argument_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys, argv, named):
    """An unset shell variable, quoted: refused in one line, exit 2, nothing written in the current folder."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"scintiseg {argv[0]}: error: {named} is given an empty value (an unset shell variable?)"]
    assert not list(tmp_path.iterdir())


def test_no_command_prints_the_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_an_output_that_cannot_be_written_is_one_line_naming_it_and_exit_2(monkeypatch, capsys):
    import errno

    from scintiseg.cli import info

    def read_only(args):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/out")

    monkeypatch.setattr(info, "run", read_only)
    assert main(["info", "scan.dcm"]) == 2
    assert capsys.readouterr().err == "scintiseg info: error: /mnt/out: Read-only file system\n"
