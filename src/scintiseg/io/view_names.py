"""Which view a one-view image holds, from its file name or its folder's: ANT or POST, or not said.

A plain image (PNG, JPEG, TIFF, ``.npy``, raw) records no view, and archives export a whole-body study's views as
separate files (BS-80K's ANT and POST JPEGs; realdata.md), named for the view more often than not
(``0123_ANT.jpg``, ``patient 7 posterior.png``). Read as the unnamed ``VIEW``, a view is taken for anterior (the
patient's right on the image left), so every side named on a POST image was the wrong one: a phantom patient's
POST saved as a PNG gave "pelvis, right" for the lesions its two-view DICOM calls "pelvis, left" (session 18).

The rule for a name (:func:`view_from_name`): the file name without its suffix, cut into words at every character
that is not a letter or digit, between letters and digits, and where a lower-case letter meets an upper-case one
(``wholeBodyPOST`` -> whole, body, post; an upper-case run keeps its last letter only before a lower-case one:
``PETScan`` -> pet, scan), lower-cased; a word ``ant`` or ``anterior`` says ANT, ``post`` or ``posterior`` says POST;
an upper-case run of one side letter and a view (``LANT``, ``RPOST``: BS-80K's ``chestLANT`` crops) counts as the
two words. A name that says both, or neither, says nothing (``VIEW``). Whole words only, stated choices: ``postop``
or ``pant`` say nothing, nor do the one-letter ``A`` / ``P`` (too often something else), and ``post`` alone counts
(the commonest abbreviation) although "post-therapy" (and, since words split at case changes, ``PostOp``) then
reads as POST: such a name is rare for a view, and ``scintiseg predict --view`` overrides the name.

**The folder** (session 22; :func:`view_from_path`): BS-80K keeps a view per folder, ``wholeBodyANT/0001.jpg`` beside
``wholeBodyPOST/0001.jpg``, the file names saying nothing. When the file name says no view, the folder's name is read
by the same rule, and counts only when a sibling folder has the same name with the other view (``wholeBodyANT`` and
``wholeBodyPOST``, ``ant`` and ``post``): a folder alone called ``post_therapy`` or ``posterior-fossa`` names a
study, not a view, and a pair of sibling folders that differ only by the view is how view-per-folder archives look.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from scintiseg.io.file_keys import scan_stem

#: Words of a file name that name a view.
VIEW_WORDS: dict[str, str] = {"ant": "ANT", "anterior": "ANT", "post": "POST", "posterior": "POST"}
#: Words: an upper-case run not followed by a lower-case letter, a capitalised or lower-case word, a number.
_TOKENS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
#: An upper-case side letter glued to a view (``LANT``, ``RPOST``).
_SIDE_VIEW = re.compile(r"([LR])(ANT|POST)")
_OTHER = {"ANT": "POST", "POST": "ANT"}


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, lower-case word) of every word of ``text`` (module docstring's rule)."""
    spans = []
    for match in _TOKENS.finditer(text):
        glued = _SIDE_VIEW.fullmatch(match.group())
        if glued:
            spans += [(match.start(), match.start() + 1, glued.group(1).lower()), (match.start() + 1, match.end(), glued.group(2).lower())]
        else:
            spans.append((match.start(), match.end(), match.group().lower()))
    return spans


def _view_said(words: list[str]) -> str | None:
    said = {VIEW_WORDS[word] for word in words if word in VIEW_WORDS}
    return said.pop() if len(said) == 1 else None


def view_from_name(path: str | Path) -> str | None:
    """``"ANT"`` or ``"POST"`` when the file name says which view it holds (module docstring), else None.

    Example::

        view_from_name("scans/0123_POST.jpg")   # "POST"
        view_from_name("scans/0123.jpg")        # None
    """
    return _view_said([word for _, _, word in _spans(scan_stem(path))])


def view_from_text(text: str) -> str | None:
    """``"ANT"`` or ``"POST"`` when a free text (a DICOM Series Description) says one view by the file name's rule
    (module docstring: whole words; a text that says both, or neither, says nothing), else None.

    Example::

        view_from_text("WB Anterior")      # "ANT"
        view_from_text("Whole body ANT/POST")  # None
    """
    return _view_said([word for _, _, word in _spans(str(text))])


def _words_without_view(name: str) -> tuple[str, ...]:
    return tuple(word for _, _, word in _spans(name) if word not in VIEW_WORDS)


def _folder_view(folder: Path) -> tuple[str, str] | None:
    """(view, the sibling's name) when a folder's name says a view and a sibling folder's name is the same but for
    the other view (module docstring), else None."""
    view = _view_said([word for _, _, word in _spans(folder.name)])
    if view is None:
        return None
    try:
        stamp = folder.parent.stat().st_mtime_ns  # a folder added or removed beside it changes this
    except OSError:
        return None
    return _folder_view_listed(folder, view, stamp)


@functools.lru_cache(maxsize=1024)
def _folder_view_listed(folder: Path, view: str, stamp: int) -> tuple[str, str] | None:
    """:func:`_folder_view` with the parent listed once per state of the parent (``stamp``): a batch of thousands
    of files in one view folder lists their parent once."""
    rest = _words_without_view(folder.name)
    try:
        with os.scandir(folder.parent) as entries:
            siblings = sorted(entry.name for entry in entries if entry.is_dir() and entry.name != folder.name)
    except OSError:
        return None
    for sibling in siblings:
        if _words_without_view(sibling) == rest and _view_said([w for _, _, w in _spans(sibling)]) == _OTHER[view]:
            return view, sibling
    return None


def view_from_path(path: str | Path) -> tuple[str, str] | None:
    """(view, what said it) from the file name, else from its folder's name (module docstring), else None.

    Example::

        view_from_path("bs80k/wholeBodyPOST/0001.jpg")
        # ("POST", "the folder name 'wholeBodyPOST' says so (its sibling 'wholeBodyANT' holds the other view)")
        #  when bs80k/wholeBodyANT/ exists
    """
    path = Path(path)
    view = view_from_name(path)
    if view is not None:
        return view, f"the file name {path.name!r} says so"
    folder = path.absolute().parent
    found = _folder_view(folder)
    if found is None:
        return None
    return found[0], f"the folder name {folder.name!r} says so (its sibling {found[1]!r} holds the other view)"


def words_besides_view(path: str | Path) -> tuple[str, ...]:
    """The words of the file name (module docstring's rule) other than those naming a view: what two files of one
    study's views share (``0123_ANT.jpg`` and ``0123_POST.jpg`` -> ``("0123",)``; :mod:`scintiseg.io.view_pairs`)."""
    return _words_without_view(scan_stem(path))


def folder_words_besides_view(path: str | Path) -> tuple[str, ...]:
    """The words of the file's folder name other than its view word (``wholeBodyPOST`` -> ``("whole", "body")``)."""
    return _words_without_view(Path(path).absolute().parent.name)


def stem_without_view(path: str | Path) -> str:
    """The file name without its suffix and without its view word, and the separators that then lead, trail or
    repeat (``"0123_ANT.jpg"`` -> ``"0123"``, ``"wb ant 7.png"`` -> ``"wb 7"``, ``"wbPost.png"`` -> ``"wb"``,
    ``"P1_ANT.nii.gz"`` -> ``"P1"``: a double suffix is one, session 49); empty when nothing else is left."""
    stem = scan_stem(path)
    kept, last = [], 0
    for start, end, word in _spans(stem):
        if word in VIEW_WORDS:
            kept.append(stem[last:start])
            last = end
    kept.append(stem[last:])
    return re.sub(r"([ _.-])[ _.-]+", r"\1", "".join(kept)).strip(" _.-")
