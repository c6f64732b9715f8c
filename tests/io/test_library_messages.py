"""scintiseg.io.library_messages: library chatter folded into one line, the reader's own warnings kept."""

import logging
import warnings

import pytest

from scintiseg.io.library_messages import ReaderWarning, library_messages


def test_warnings_and_log_records_are_recorded_not_printed(capsys):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with library_messages("pydicom") as said:
            warnings.warn("Invalid value for VR UI: '1.2.x'. Please see <https://dicom.nema.org/x> for the rules.")
            logging.getLogger("pydicom.pixels").error("decoder failed\nTraceback (most recent call last): ...")
    assert seen == [] and capsys.readouterr().err == ""
    assert len(said.messages) == 2
    assert said.messages[0].endswith("Invalid value for VR UI: '1.2.x'.")  # the link boilerplate is cut
    assert said.messages[1] == "pydicom: decoder failed"  # first line only, no traceback


def test_a_successful_read_gives_at_most_one_warning_and_keeps_the_readers_own():
    with library_messages("tifffile") as said:
        for k in range(3):
            logging.getLogger("tifffile").warning("invalid offset to first page %d", k)
        warnings.warn("assuming detector 1 = ANT", ReaderWarning)
    with pytest.warns(ReaderWarning) as seen:
        said.warn_once("scan.tif")
    texts = [str(w.message) for w in seen]
    assert texts[0] == "assuming detector 1 = ANT"
    assert texts[1] == "scan.tif: read despite 3 library warnings: tifffile: invalid offset to first page 0 (and 2 more)"
    assert len(texts) == 2


def test_hint_quotes_the_first_message_unless_the_error_already_does():
    with library_messages("pydicom") as said:
        logging.getLogger("pydicom").warning("Expected explicit VR, but found implicit VR")
    assert said.hint("unreadable DICOM file") == " (pydicom: Expected explicit VR, but found implicit VR)"
    assert said.hint("unreadable: Expected explicit VR, but found implicit VR") == ""
    with library_messages() as quiet:
        pass
    assert quiet.hint("anything") == ""


def test_loggers_are_restored_afterwards():
    logger = logging.getLogger("pydicom")
    before = (logger.handlers[:], logger.propagate, logger.level)
    with library_messages("pydicom"):
        pass
    assert (logger.handlers, logger.propagate, logger.level) == before


def test_a_resource_warning_of_other_code_finalised_during_a_read_is_not_the_files():
    with library_messages("pydicom") as said:
        warnings.warn("Implicitly cleaning up <TemporaryDirectory '/tmp/x'>", ResourceWarning, stacklevel=1)
    assert said.messages == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        said.warn_once("scan.dcm")
    assert caught == []


# Session 67 mutation audit (docs/mutation-audit-s67/leftovers.md): each test below kills a mutant the above missed.


def test_a_long_library_message_is_cut_to_max_quoted_with_an_ellipsis():
    from scintiseg.io.library_messages import MAX_QUOTED

    with library_messages("tifffile") as said:
        logging.getLogger("tifffile").warning("x" * 500)
    text = said.messages[0].split(": ", 1)[1]
    assert len(text) == MAX_QUOTED and text.endswith("...")


def test_one_library_message_is_said_in_the_singular_with_no_more():
    with library_messages("tifffile") as said:
        logging.getLogger("tifffile").warning("invalid offset to first page")
    with pytest.warns(ReaderWarning) as seen:
        said.warn_once("scan.tif")
    assert [str(w.message) for w in seen] == ["scan.tif: read despite 1 library warning: tifffile: invalid offset to first page"]
