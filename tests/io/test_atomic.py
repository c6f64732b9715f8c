"""``scintiseg.io.atomic``: a write lands whole or not at all, and a failure names the file asked for."""

from pathlib import Path

import pytest

from scintiseg.io.atomic import atomic_path, write_text_atomic


def test_a_write_lands_whole_and_a_failed_one_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("stopped")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failure_names_the_file_asked_for_not_the_temporary(tmp_path):
    """A folder where the file goes: the error named ".out.json.k2x9.part" before session 61."""
    (tmp_path / "out.json").mkdir()
    with pytest.raises(IsADirectoryError) as error:
        write_text_atomic(tmp_path / "out.json", "{}")
    assert error.value.filename == str(tmp_path / "out.json") and ".part" not in str(error.value)
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    if Path("/proc/self").is_dir():  # Linux: a folder no file can be made in, even by root
        with pytest.raises(OSError) as error:
            write_text_atomic("/proc/scintiseg-test.json", "{}")
        assert error.value.filename == "/proc/scintiseg-test.json"


def test_same_file_sees_one_file_under_another_name_and_tells_two_apart(tmp_path):
    from scintiseg.io.atomic import same_file

    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    one.write_text("a")
    two.write_text("a")
    (tmp_path / "link.pt").symlink_to(one)
    (tmp_path / "hard.pt").hardlink_to(one)
    assert same_file(one, tmp_path / "link.pt") and same_file(one, tmp_path / "hard.pt")
    assert same_file(one, tmp_path / "sub" / ".." / "one.pt")  # not yet there, the same path resolved
    assert not same_file(one, two) and not same_file(one, tmp_path / "new.pt")


def test_a_written_file_has_the_permissions_an_ordinary_open_gives(tmp_path):
    """mkstemp makes its file 0600; the result must be readable as any file written with open() is."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    write_text_atomic(tmp_path / "out.txt", "x")
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_staging_folder_is_hidden_new_and_has_the_permissions_an_ordinary_mkdir_gives(tmp_path):
    """mkdtemp makes its folder 0700: a published scan folder could be opened by its maker alone (session 73)."""
    import os

    from scintiseg.io.atomic import staging_folder

    mask = os.umask(0)
    os.umask(mask)
    first, second = staging_folder(tmp_path, "scan"), staging_folder(tmp_path, "scan")
    assert first != second and first.name.startswith(".scan.partial-") and first.parent == tmp_path
    assert first.stat().st_mode & 0o777 == 0o777 & ~mask
    (tmp_path / "plain").mkdir()
    assert first.stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777


def test_stale_partials_are_removed_and_nothing_else(tmp_path):
    from scintiseg.io.atomic import remove_stale_partials

    stale = tmp_path / ".log.csv.7b7avh7s.part"
    stale.write_text("half")
    for name in ("log.csv", "notes.part", ".hidden"):
        (tmp_path / name).write_text("keep")
    assert remove_stale_partials(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "log.csv", "notes.part"]
