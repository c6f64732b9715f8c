"""Which view a one-view image holds, from its file name: ANT or POST, or not said.

A plain image (PNG, JPEG, TIFF, ``.npy``, raw) records no view, and archives export a whole-body study's views as
separate files (BS-80K's ANT and POST JPEGs; realdata.md), named for the view more often than not
(``0123_ANT.jpg``, ``patient 7 posterior.png``). Read as the unnamed ``VIEW``, a view is taken for anterior (the
patient's right on the image left), so every side named on a POST image was the wrong one: a phantom patient's
POST saved as a PNG gave "pelvis, right" for the lesions its two-view DICOM calls "pelvis, left" (session 18).

The rule (:func:`view_from_name`): the file name without its suffix, cut into words at every character that is not
a letter or digit and between letters and digits, lower-cased; a word ``ant`` or ``anterior`` says ANT, ``post``
or ``posterior`` says POST; a name that says both, or neither, says nothing (``VIEW``). Whole words only, stated
choices: ``postop`` or ``pant`` say nothing, nor do the one-letter ``A`` / ``P`` (too often something else), and
``post`` alone counts (the commonest abbreviation) although "post-therapy" then reads as POST: such a name is
rare for a view, and ``scintiseg predict --view`` overrides the name.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Words of a file name that name a view.
VIEW_WORDS: dict[str, str] = {"ant": "ANT", "anterior": "ANT", "post": "POST", "posterior": "POST"}
_WORDS = re.compile(r"[a-z]+|[0-9]+")


def view_from_name(path: str | Path) -> str | None:
    """``"ANT"`` or ``"POST"`` when the file name says which view it holds (module docstring), else None.

    Example::

        view_from_name("scans/0123_POST.jpg")   # "POST"
        view_from_name("scans/0123.jpg")        # None
    """
    words = _WORDS.findall(Path(path).stem.lower())
    said = {VIEW_WORDS[word] for word in words if word in VIEW_WORDS}
    return said.pop() if len(said) == 1 else None


def words_besides_view(path: str | Path) -> tuple[str, ...]:
    """The words of the file name (module docstring's rule) other than those naming a view: what two files of one
    study's views share (``0123_ANT.jpg`` and ``0123_POST.jpg`` -> ``("0123",)``; :mod:`scintiseg.io.view_pairs`)."""
    return tuple(word for word in _WORDS.findall(Path(path).stem.lower()) if word not in VIEW_WORDS)


def stem_without_view(path: str | Path) -> str:
    """The file name without its suffix and without its view word, and the separators that then lead, trail or
    repeat (``"0123_ANT.jpg"`` -> ``"0123"``, ``"wb ant 7.png"`` -> ``"wb 7"``); empty when nothing else is left."""
    words = "|".join(sorted(VIEW_WORDS, key=len, reverse=True))
    stem = re.sub(rf"(?i)(?<![a-z])({words})(?![a-z])", "", Path(path).stem)
    return re.sub(r"([ _.-])[ _.-]+", r"\1", stem).strip(" _.-")

