"""``report.pdf``: the report on A4 pages a physician reads, files and sends on (``scintiseg predict --pdf``; the same
bytes go to PACS as a DICOM Encapsulated PDF, :mod:`.dicom_pdf`).

What it shows, from ``report.json`` alone (:func:`report_pdf`; so a reviewed report's PDF follows the reader's
outlines), in the words and numbers ``report.html`` uses (its helpers, :mod:`.html`, make both):

- **Header**: the patient (name as a person reads it, id, birth date, sex), the study (date, accession, description),
  the views, the source file, the model and when the report was made; a yellow box with the caution the page carries:
  a machine draft (a reviewed report: reviewed outlines), not a diagnosis, and the model's own disclaimer (not a
  clinical device).
- **Images**: every view side by side, cropped to the rows of the body as on the page (:func:`.html.rows_shown`),
  drawn in millimetres (non-square pixels keep their shape) and head-up (:func:`.html.shown_head_up`); each lesion's
  outline red with its id (the table's), the calls a reading rule left out dashed blue with ``x1``, ``x2``, ...
  (printed, where the page hides them behind a toggle: a paper has no toggle, and the table lists them), R/L marks of
  the patient's sides. The outlines and ids are vectors over the plain scan (the background ``report.html`` draws on,
  :func:`.overlay.overlay_image` with ``outlines=False``), not the ``V_overlay.png`` bitmaps: sharp at any print size,
  and the ids are text a reader can search.
- **Beside the images**: lesions, the **BSI with its scope** (the share of the skeleton seen, per view, and the
  scope's sentence), the triage score, the Soloway grade, the regions involved, the **QC flags** with their meanings,
  and the **draft findings** (``summary.findings_text``: findings, impression, and its machine-draft note).
- **Lesions by region**: the lesion table grouped by region (anatomical order, each group headed by its lesion count
  and BSI contribution, as on the page), then the calls left out by a reading rule; its header row is repeated on every
  page it runs onto.
- A footer on every page: the patient, the study date, "machine draft, not a diagnosis" ("reviewed outlines, not a
  diagnosis" for a reviewed report: :func:`caution`), page *i* of *n*.

Choices [all choice]:

- **matplotlib** (a dependency already), without pyplot (no GUI backend, no global figure list): a ``Figure`` per page
  into ``PdfPages``. ReportLab would lay out tables itself but is one more dependency for one page; matplotlib's PDF
  keeps text as text. Font: DejaVu Sans (shipped with matplotlib: ``²``, ``·``, ``–`` and most Latin, Greek and
  Cyrillic letters), embedded as Type 3 (``pdf.fonttype`` 3, matplotlib's default): the text stays text, selectable and
  searchable in a viewer (the characters above code 255, ``•`` and ``–``, are drawn as shapes). TrueType embedding
  (``pdf.fonttype`` 42) reads the same but costs 0.58 s a page against 0.16 s, measured on NM1's report (fontTools
  subsets each of the five faces, every time). Ligatures are off (matplotlib 3.11 shapes text with HarfBuzz, which
  joined "fi" and "fl" into one glyph: "flags" no longer searchable). A character DejaVu lacks (a CJK patient name)
  prints as a box, without a warning per glyph; the id beside it, report.json and report.html keep the name. Every
  text is drawn with ``parse_math=False``: a ``$`` in a name or path is a dollar, never TeX.
- **Layout by hand** on a millimetre grid (A4 portrait, 12 mm margins): the images take at most 160 mm of height and
  118 mm of width (two whole-body views of 256 columns fit side by side), the summary flows in the column beside them
  and, when longer, on below them; the tables follow at full width, onto a second page (or more) when they do not fit.
  A report that would take a second page by a few rows is laid out again with the images 145 mm, then 130 mm high
  (:data:`IMAGE_HEIGHTS_MM`; a layout costs about 30 ms, the drawing into the PDF the rest): NM1 with six lesions
  keeps to one page so; one of more than :data:`ONE_PAGE_LESIONS` lesions is laid out once.
  Lines are wrapped by the font's own glyph advances (:func:`text_width_mm`), a word wider than its column broken by
  characters, so that no text runs over a column or off the page.
- Opt-in (``--pdf``): matplotlib's import costs about 0.5 s per process and the PDF about 0.17 s per scan (docs/predict.md
  has the measurement), more than prediction's budget of 0.5 s per scan allows on the default path.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from matplotlib import ft2font, rc_context
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from scintiseg.report.html import (
    display_date,
    display_name,
    group_by_region,
    id_order,
    nearer_view_missing,
    no_lesion_text,
    place_groups,
    place_title,
    no_bsi_reason,
    qc_flag_meaning,
    region_bsi_percent,
    region_title,
    review_text,
    rows_shown,
    shown_head_up,
    soloway_text,
    spilled_regions,
    triage_text,
    view_region_bsi,
    views_read,
)
from scintiseg.report.image_sides import side_letters

#: A4 portrait (mm).
PAGE_MM: tuple[float, float] = (210.0, 297.0)
#: Page margin on every side (mm).
MARGIN_MM: float = 12.0
#: The font of every text (shipped with matplotlib).
FONT: str = "DejaVu Sans"
#: The heights (mm) the views are drawn at on page 1, tallest first: a shorter one where the report would otherwise
#: take a second page (module docstring).
IMAGE_HEIGHTS_MM: tuple[float, ...] = (160.0, 145.0, 130.0)
#: The largest total width (mm) of the views side by side.
IMAGES_WIDTH_MM: float = 118.0
#: Above this many lesions the report takes more than one page whatever the images' height: laid out once.
ONE_PAGE_LESIONS: int = 16
#: A paragraph of at most this many lines is never split between two regions (a QC flag's meaning, a finding).
KEEP_LINES: int = 8
#: The caution every page of a prediction's report carries in its banner and footer; the header's box says it in full.
CAUTION = "Machine draft, not a diagnosis"
#: The caution of a reviewed report's pages (``scintiseg review``): its outlines are a reader's, no longer the machine's
#: draft, and still no diagnosis (audit 74, finding 5: a VERIFIED report's banner said "machine draft").
REVIEWED_CAUTION = "Reviewed outlines, not a diagnosis"


def caution(report: dict) -> str:
    """The caution of ``report``'s pages: :data:`REVIEWED_CAUTION` for a reviewed report (signed or not: its outlines
    are a reader's either way; the signature is said in the Outlines line and the DICOM Verification Flag), else
    :data:`CAUTION`."""
    return REVIEWED_CAUTION if isinstance(report.get("review"), dict) else CAUTION

#: Every text's font features: no ligatures (module docstring), where matplotlib shapes text (3.11 on).
_FEATURES: dict = {"fontfeatures": ("-liga",)} if hasattr(Text, "set_fontfeatures") else {}
_PT_MM = 25.4 / 72.0
_LINE = 1.3  # line height / font size
_RED, _BLUE, _GREY, _INK = "#c00000", "#1d4fb0", "#555555", "#111111"
_WIDTH = PAGE_MM[0] - 2 * MARGIN_MM
_BOTTOM = PAGE_MM[1] - MARGIN_MM - 7.0  # the footer's room below


@lru_cache(maxsize=2)
def _font(bold: bool) -> ft2font.FT2Font:
    """DejaVu Sans (bold) at 100 pt, for measuring (:func:`text_width_mm`)."""
    font = ft2font.FT2Font(findfont(FontProperties(family=FONT, weight="bold" if bold else "normal")))
    font.set_size(100.0, 72)
    return font


@lru_cache(maxsize=4096)
def _advance_em(char: str, bold: bool) -> float:
    """The glyph advance of ``char`` in ems (unhinted); a character the font lacks (drawn as a box) as 1 em."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            glyph = _font(bold).load_char(ord(char))
    except RuntimeError:
        return 1.0
    return glyph.linearHoriAdvance / 65536.0 / 100.0


def text_width_mm(text: str, size: float, bold: bool = False) -> float:
    """The width (mm) of ``text`` at ``size`` pt in :data:`FONT`: the sum of its glyph advances, 2 % added for the
    kerning and hinting the renderer applies (measured against matplotlib's own extent: 1.9 % wider on a line of 33
    characters at 8 pt)."""
    return 1.02 * size * _PT_MM * sum(_advance_em(char, bold) for char in text)


def wrap(text: str, width_mm: float, size: float, bold: bool = False) -> list[str]:
    """``text`` broken into lines no wider than ``width_mm`` at ``size`` pt: greedily at spaces, a word wider than the
    line by characters (a long file path); an empty text is one empty line."""
    lines: list[str] = []
    line = ""
    for word in str(text).split():
        candidate = f"{line} {word}" if line else word
        if text_width_mm(candidate, size, bold) <= width_mm:
            line = candidate
            continue
        if line:
            lines.append(line)
        while text_width_mm(word, size, bold) > width_mm and len(word) > 1:
            cut = max(1, max(n for n in range(1, len(word) + 1) if text_width_mm(word[:n], size, bold) <= width_mm)
                      if text_width_mm(word[0], size, bold) <= width_mm else 1)
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    lines.append(line)
    return lines


def _fit(text: str, width_mm: float, size: float, bold: bool = False) -> str:
    """``text`` cut with an ellipsis to fit ``width_mm`` (a footer's patient name)."""
    if text_width_mm(text, size, bold) <= width_mm:
        return text
    while text and text_width_mm(text + "…", size, bold) > width_mm:
        text = text[:-1]
    return text + "…"


class _Page:
    """One A4 page: text, boxes and image axes placed in millimetres from the top left corner."""

    def __init__(self) -> None:
        self.figure = Figure(figsize=(PAGE_MM[0] / 25.4, PAGE_MM[1] / 25.4))

    def text(self, x: float, y: float, text: str, size: float, *, bold: bool = False, italic: bool = False,
             colour: str = _INK, align: str = "left") -> None:
        """``text`` with its baseline at ``y`` (mm from the top)."""
        self.figure.text(x / PAGE_MM[0], 1.0 - y / PAGE_MM[1], text, fontsize=size, fontfamily=FONT,
                         fontweight="bold" if bold else "normal", fontstyle="italic" if italic else "normal",
                         color=colour, ha=align, va="baseline", parse_math=False, **_FEATURES)

    def box(self, x: float, y: float, width: float, height: float, *, fill: str, edge: str | None = None) -> None:
        """A rectangle whose top left corner is at (``x``, ``y``) mm."""
        self.figure.add_artist(Rectangle((x / PAGE_MM[0], 1.0 - (y + height) / PAGE_MM[1]), width / PAGE_MM[0],
                                         height / PAGE_MM[1], transform=self.figure.transFigure, facecolor=fill,
                                         edgecolor=edge or "none", linewidth=0.5, zorder=0))

    def axes(self, x: float, y: float, width: float, height: float):
        """Axes filling the rectangle whose top left corner is at (``x``, ``y``) mm, without frame or ticks."""
        axes = self.figure.add_axes((x / PAGE_MM[0], 1.0 - (y + height) / PAGE_MM[1], width / PAGE_MM[0],
                                     height / PAGE_MM[1]))
        axes.set_axis_off()
        return axes


@dataclass
class _Region:
    """A rectangle text flows into: ``x`` and ``width`` across, ``top`` to ``bottom`` down (mm)."""

    page: _Page
    x: float
    width: float
    top: float
    bottom: float


class _Flow:
    """Text and table rows laid out top to bottom through regions (the column beside the images, the page below them),
    then through new pages, each opened by a continuation header."""

    def __init__(self, document: _Document, regions: list[_Region]) -> None:
        self.document = document
        self.regions = regions
        self.y = regions[0].top

    @property
    def region(self) -> _Region:
        return self.regions[0]

    def next_region(self) -> None:
        """Go on in the next region, or on a new page."""
        self.regions.pop(0)
        if not self.regions:
            self.regions.append(self.document.continuation_page())
        self.y = self.region.top

    def full_width(self) -> None:
        """Go on in the first region that spans the page's width (the tables'), below what is drawn."""
        while self.region.width < _WIDTH - 0.1:
            self.next_region()

    def room(self, height: float) -> bool:
        """Whether ``height`` mm fits in the region from here; if not, the flow moves on to the next region (so a
        row or a line is never cut)."""
        if self.y + height <= self.region.bottom:
            return True
        self.next_region()
        return False

    def space(self, height: float) -> None:
        """Leave ``height`` mm blank (none at a region's top)."""
        if self.y > self.region.top:
            self.y = min(self.y + height, self.region.bottom)

    def paragraph(self, text: str, size: float = 8.0, *, bold: bool = False, italic: bool = False,
                  colour: str = _INK, lead: str = "", lead_bold: bool = True, hang: float = 0.0) -> None:
        """``text`` wrapped to the region's width, line by line (a region ends between two lines, and the rest is
        wrapped again to the next region's width); ``lead`` is printed before it on its first line (a label, bold by
        default), the lines after the first indented by ``hang`` mm."""
        line_height = size * _LINE * _PT_MM
        lead_width = text_width_mm(lead + " ", size, lead_bold) if lead else 0.0
        region = self.region
        lines = wrap(text, region.width - lead_width, size, bold)
        if len(lines) <= KEEP_LINES and self.y > region.top and self.y + len(lines) * line_height > region.bottom:
            self.next_region()  # a short paragraph is kept whole: on in the next region
            region = self.region
            lines = wrap(text, region.width - lead_width, size, bold)
        first = True
        while lines:
            if not self.room(line_height) or region is not self.region:  # on in another region: wrapped to its width
                region = self.region
                lines = wrap(" ".join(lines), region.width - (lead_width if first else hang), size, bold)
            y = self.y + 0.78 * size * _PT_MM
            x = region.x + (0.0 if first else hang)
            if first and lead:
                region.page.text(x, y, lead, size, bold=lead_bold, colour=colour)
                x += lead_width
            region.page.text(x, y, lines.pop(0), size, bold=bold, italic=italic, colour=colour)
            self.y += line_height
            if first and lines and hang != lead_width:  # the lines after the first: wrapped to their own width
                lines = wrap(" ".join(lines), region.width - hang, size, bold)
            first = False

    def heading(self, text: str, size: float = 9.5) -> None:
        """A bold heading with room below it for at least two lines (never alone at a region's foot)."""
        self.space(2.0)
        self.room(size * _LINE * _PT_MM + 2 * 8.0 * _LINE * _PT_MM)
        self.paragraph(text, size, bold=True)
        self.y += 0.6


@dataclass
class _Column:
    """A table column: its title, width (mm), and whether its cells are text (left) or numbers (right)."""

    title: str
    width: float
    text: bool = False


_TABLE_SIZE = 7.0
_CELL_PAD = 0.8


def _table(flow: _Flow, columns: list[_Column], groups: list[tuple[str | None, list[list[str]]]]) -> None:
    """A table at full width: ``groups`` of rows, each opened by a header spanning the columns (``None``: no header);
    the column titles are repeated wherever the table goes on in a new region. Cells wrap within their column."""
    flow.full_width()
    line = _TABLE_SIZE * _LINE * _PT_MM

    def cell_lines(texts: list[str], bold: bool = False) -> list[list[str]]:
        return [wrap(text, column.width - 2 * _CELL_PAD, _TABLE_SIZE, bold) for text, column in zip(texts, columns)]

    titles = cell_lines([column.title for column in columns], bold=True)
    title_height = max(len(lines) for lines in titles) * line + 2 * _CELL_PAD

    def draw_row(lines: list[list[str]], height: float, *, bold: bool = False, fill: str | None = None) -> None:
        region = flow.region
        if fill:
            region.page.box(region.x, flow.y, _WIDTH, height, fill=fill)
        x = region.x
        for cell, column in zip(lines, columns):
            for n, text in enumerate(cell):
                y = flow.y + _CELL_PAD + n * line + 0.78 * _TABLE_SIZE * _PT_MM
                if column.text:
                    region.page.text(x + _CELL_PAD, y, text, _TABLE_SIZE, bold=bold)
                else:
                    region.page.text(x + column.width - _CELL_PAD, y, text, _TABLE_SIZE, bold=bold, align="right")
            x += column.width
        region.page.box(region.x, flow.y + height - 0.15, _WIDTH, 0.15, fill="#bbbbbb")
        flow.y += height

    def titles_here() -> None:
        draw_row(titles, title_height, bold=True, fill="#e8eef7")

    def fits(height: float) -> None:
        """Room for ``height`` mm below the titles; on a new region the titles again."""
        if not flow.room(height):
            flow.full_width()
            flow.room(title_height + height)
            titles_here()

    flow.room(title_height + 3 * line)
    titles_here()
    for header, rows in groups:
        bodies = [cell_lines(row) for row in rows]
        heights = [max(len(lines) for lines in body) * line + 2 * _CELL_PAD for body in bodies]
        if header is not None:
            header_lines = wrap(header, _WIDTH - 2 * _CELL_PAD, _TABLE_SIZE)
            header_height = len(header_lines) * line + 2 * _CELL_PAD
            fits(header_height + (heights[0] if heights else 0.0))  # a group's header never alone at a page's foot
            region = flow.region
            region.page.box(region.x, flow.y, _WIDTH, header_height, fill="#d5dff0")
            for n, text in enumerate(header_lines):
                region.page.text(region.x + _CELL_PAD, flow.y + _CELL_PAD + n * line + 0.78 * _TABLE_SIZE * _PT_MM,
                                 text, _TABLE_SIZE, bold=n == 0)
            flow.y += header_height
        for body, height in zip(bodies, heights):
            fits(height)
            draw_row(body, height)


class _Document:
    """The pages of one report, the header of its first and the continuation header of the others."""

    def __init__(self, report: dict) -> None:
        self.report = report
        self.pages: list[_Page] = []

    def patient_line(self) -> str:
        patient, study = self.report.get("patient") or {}, self.report.get("study") or {}
        parts = [display_name(patient.get("name")) or "(no name)",
                 f"id {patient.get('id')}" if patient.get("id") else "no patient id",
                 f"born {display_date(patient['birth_date'])}" if patient.get("birth_date") else "",
                 f"sex {patient['sex']}" if patient.get("sex") else "",
                 f"study {display_date(study['study_date'])}" if study.get("study_date") else ""]
        return " · ".join(part for part in parts if part)

    def continuation_page(self) -> _Region:
        """A new page whose header names the report and the patient; returns its region below that header."""
        page = _Page()
        self.pages.append(page)
        page.text(MARGIN_MM, MARGIN_MM + 3.5, "Bone scan lesion report (continued)", 9.5, bold=True)
        page.text(PAGE_MM[0] - MARGIN_MM, MARGIN_MM + 3.5, _fit(self.patient_line(), 110.0, 8.0), 8.0,
                  align="right", colour=_GREY)
        page.box(MARGIN_MM, MARGIN_MM + 5.5, _WIDTH, 0.2, fill="#999999")
        return _Region(page, MARGIN_MM, _WIDTH, MARGIN_MM + 8.0, _BOTTOM)

    def footers(self) -> None:
        """Every page's footer: the patient, the caution and page *i* of *n* (drawn once the count is known)."""
        y = PAGE_MM[1] - MARGIN_MM - 0.5
        for number, page in enumerate(self.pages, start=1):
            page.box(MARGIN_MM, y - 3.6, _WIDTH, 0.2, fill="#999999")
            page.text(MARGIN_MM, y, _fit(self.patient_line(), 95.0, 7.0), 7.0, colour=_GREY)
            page.text(PAGE_MM[0] - MARGIN_MM, y, f"{caution(self.report).lower()} · scintiseg "
                      f"{self.report.get('scintiseg_version', '')} · page {number} of {len(self.pages)}", 7.0,
                      colour=_GREY, align="right")


def _header(document: _Document, page: _Page) -> float:
    """Page 1's title, patient, study and provenance lines and the caution box; returns the height used (mm)."""
    report = document.report
    study, source, model = report.get("study") or {}, report.get("input") or {}, report.get("model") or {}
    y = MARGIN_MM + 5.0
    page.text(MARGIN_MM, y, "Bone scan lesion report", 15.0, bold=True)
    page.text(PAGE_MM[0] - MARGIN_MM, y, caution(report).upper(), 9.0, bold=True, colour=_RED, align="right")
    flow = _Flow(document, [_Region(page, MARGIN_MM, _WIDTH, y + 2.5, _BOTTOM)])
    flow.paragraph(document.patient_line().split(" · study ")[0], 9.0, lead="Patient")
    told = [display_date(study.get("study_date")), f"accession {study['accession_number']}"
            if study.get("accession_number") else "", str(study.get("study_description") or "")]
    views = ", ".join(str(view) for view in source.get("views") or report.get("views") or [])
    flow.paragraph(" · ".join([part for part in told if part] + [f"views {views}"]), 9.0, lead="Study")
    named = source.get("view_sources")
    files = ("; ".join(f"{view}: {Path(str(path)).name}" for view, path in named.items())
             if isinstance(named, dict) and named else Path(str(source.get("source") or "")).name)
    how = ", ".join(str(part) for part in (model.get("engine"), model.get("input_mode") and
                                           f"input {model['input_mode']}") if part)
    made = str(report.get("created") or "").replace("T", " ")
    flow.paragraph(f"{files} · model {model.get('name')}" + (f" ({how})" if how else "")
                   + f" · made {made} by scintiseg {report.get('scintiseg_version', '')}", 7.0, colour=_GREY,
                   lead="Source", lead_bold=False)
    draft = (report.get("summary") or {}).get("findings_text")
    note = draft.get("note") if isinstance(draft, dict) and isinstance(draft.get("note"), str) else ""
    said = note.strip()
    if model.get("disclaimer"):
        said += f" Not a clinical device: {model['disclaimer']}"
    top = flow.y + 1.5
    box = _Flow(document, [_Region(page, MARGIN_MM + 2.0, _WIDTH - 4.0, top + 1.2, _BOTTOM)])
    box.paragraph(said, 7.5, lead=f"{caution(report)}.")
    height = box.y - top + 1.2
    page.box(MARGIN_MM, top, _WIDTH, height, fill="#fff3cd", edge="#d9a400")
    return top + height + 4.0


def _views(page: _Page, report: dict, images: Mapping[str, np.ndarray], top: float,
           tallest: float) -> tuple[float, float]:
    """Every view side by side from ``top`` (mm), at most ``tallest`` mm high: the scan, outlines, ids and R/L marks,
    then one caption; returns the width and height used (mm)."""
    rows, cols = (int(n) for n in report["input"]["shape"][-2:])
    dr, dc = (float(s) for s in (report["input"].get("pixel_spacing_mm") or (1.0, 1.0)))
    head_up = shown_head_up(report)
    first, last = rows_shown(report)
    if head_up:
        first, last = rows - 1 - last, rows - 1 - first
    shown = [view for view in images if images[view] is not None]
    width_mm, height_mm = cols * dc, (last + 1 - first) * dr
    gap = 3.0
    height = min(tallest, (IMAGES_WIDTH_MM - gap * (len(shown) - 1)) / max(len(shown), 1)
                 * height_mm / width_mm)
    width = height * width_mm / height_mm
    size = 6.5
    for n, view in enumerate(shown):
        picture = np.asarray(images[view])
        picture = picture[::-1] if head_up else picture
        axes = page.axes(MARGIN_MM + n * (width + gap), top, width, height)
        axes.imshow(picture[first:last + 1], extent=(0.0, width_mm, (last + 1) * dr, first * dr),
                    interpolation="none", aspect="auto")
        axes.set_xlim(0.0, width_mm)
        axes.set_ylim((last + 1) * dr, first * dr)
        axes.add_artist(Rectangle((0.0, first * dr), width_mm, height_mm, fill=False, edgecolor="#999999",
                                  linewidth=0.4))
        # A white box behind each id keeps it legible on a hot spot and keeps it text (a stroked halo, matplotlib's
        # path effect, draws the text as shapes: no id could be searched).
        halo = {"boxstyle": "square,pad=0.08", "facecolor": "white", "edgecolor": "none", "alpha": 0.8}
        font = size / 72.0 * 25.4 * width_mm / width  # the ids' height in the view's millimetres
        marked = [(lesion, str(lesion.get("id")), False) for lesion in report.get("lesions") or []]
        marked += [(call, f"x{call.get('id')}", True) for call in report.get("left_out_calls") or []]
        for record, label, left_out in marked:
            if record.get("view") != view:
                continue
            points = [((float(x) + 0.5) * dc, (rows - 0.5 - float(y) if head_up else float(y) + 0.5) * dr)
                      for x, y in record.get("contour") or []]
            colour = _BLUE if left_out else ("#e07000" if record.get("origin") == "reader" else "#dc0000")
            if points:
                xs, ys = zip(*(points + points[:1]))
                axes.plot(xs, ys, color=colour, linewidth=0.6, linestyle=(0, (2, 1.5)) if left_out else "-")
                left, right, y_top = min(xs), max(xs), min(ys)
            else:
                left = right = (float(record.get("centroid_col", 0.0)) + 0.5) * dc
                row = float(record.get("centroid_row", 0.0))
                y_top = (rows - 0.5 - row if head_up else row + 0.5) * dr
            room = width_mm - right > font * (0.7 * len(label) + 0.4)
            axes.text(right + 0.3 * font if room else left - 0.3 * font, max(y_top + 0.7 * font, first * dr + font),
                      label, fontsize=size, fontweight="bold", fontstyle="italic" if left_out else "normal",
                      color=_BLUE if left_out else _RED, ha="left" if room else "right", va="baseline",
                      bbox=halo, parse_math=False, fontfamily=FONT, **_FEATURES)
        sides = side_letters(view)
        for x, side, align in ((0.4 * font, sides[0], "left"), (width_mm - 0.4 * font, sides[1], "right")):
            axes.text(x, first * dr + 1.5 * font, side, fontsize=7.5, fontweight="bold", ha=align, va="baseline",
                      parse_math=False, fontfamily=FONT, color=_INK, **_FEATURES)
        axes.text(width_mm / 2.0, first * dr + 1.5 * font, view, fontsize=7.5, fontweight="bold", ha="center",
                  va="baseline", parse_math=False, fontfamily=FONT, color=_INK, **_FEATURES)
    used = len(shown) * width + gap * (len(shown) - 1)
    caption = ("Lesion outlines and ids red, as in the table"
               + ("; a reader's own outlines orange" if any(l.get("origin") == "reader"
                                                            for l in report.get("lesions") or []) else "")
               + ("; calls left out by a reading rule dashed blue (x)" if report.get("left_out_calls") else "")
               + ". ANT: the patient's right on the image left; POST: on the image right"
               + ("; stored head-down, shown turned head-up" if head_up else "") + ".")
    lines = wrap(caption, used, 6.5)
    for n, line in enumerate(lines):
        page.text(MARGIN_MM, top + height + 3.0 + n * 6.5 * _LINE * _PT_MM, line, 6.5, colour=_GREY)
    return used, height + 1.5 + len(lines) * 6.5 * _LINE * _PT_MM


def _summary(flow: _Flow, report: dict) -> None:
    """Lesions, BSI and its scope, triage, grade, regions, QC flags and the draft findings, in the flow."""
    summary, views = report.get("summary") or {}, report.get("views") or {}
    flow.heading("Summary")
    reviewed = review_text(report)
    if reviewed:
        flow.paragraph(f"{reviewed}: the lesions, BSI and grade are the reader's outlines measured", lead="Outlines:")
    by_view = summary.get("lesion_count_by_view") or {}
    per_view = ", ".join(f"{view} {count}" for view, count in by_view.items())
    distinct = summary.get("distinct_lesion_count", summary.get("lesion_count"))
    pairs = summary.get("pair_count") or 0
    flow.paragraph(f"{distinct} distinct" + (f" ({per_view})" if per_view else "")
                   + (f"; {pairs} seen on both views" if len(views) > 1 else ""), lead="Lesions:")
    if summary.get("bsi_percent") is None:
        reason = no_bsi_reason(summary)
        flow.paragraph(f"not given: {reason}" + (" (bones not named)" if reason == "a partial view" else ""),
                       lead="Bone Scan Index:")
    else:
        flow.paragraph(f"{float(summary['bsi_percent']):.3f} % of the skeletal mass", lead="Bone Scan Index:")
        seen = []
        for view, info in views.items():
            bsi = (info or {}).get("bsi") or {}
            if "bsi_percent" in bsi:
                seen.append(f"{view}: BSI {float(bsi['bsi_percent']):.3f} %, {float(bsi.get('covered_mass_percent', 0)):.1f}"
                            f" % of the mass, {len(bsi.get('bones') or {})} bones")
        flow.paragraph(f"{float(summary.get('bsi_covered_mass_percent') or 0.0):.1f} % of the skeletal mass"
                       + (f" ({'; '.join(seen)})" if seen else ""), lead="Skeleton seen:")
    if summary.get("bsi_scope"):
        flow.paragraph(str(summary["bsi_scope"]), lead="BSI scope:")
    flow.paragraph(f"{triage_text(summary, views)} (largest lesion probability, calls left out by a reading rule set "
                   "aside; a ranking, not calibrated)", lead="Triage score:")
    flow.paragraph(soloway_text(summary), lead="Soloway grade:")
    involved = [place_title(region, side) for region, side, _ in place_groups(report.get("lesions") or [])]
    flow.paragraph(", ".join(involved) or "none", lead="Regions:")
    flags = [str(flag) for flag in summary.get("qc_flags") or []]
    flow.heading("QC flags")
    if not flags:
        flow.paragraph("none")
    for flag in flags:
        meaning = qc_flag_meaning(flag, report.get("input"))
        flow.paragraph(meaning or "", 7.5, lead=flag, hang=3.0)
        flow.space(0.6)
    draft = summary.get("findings_text")
    if isinstance(draft, dict) and isinstance(draft.get("impression"), str):
        flow.heading("Draft findings (machine-written: edit before use)")
        if draft.get("note"):
            flow.paragraph(str(draft["note"]), 7.5, italic=True, colour=_GREY)
        for finding in draft.get("findings") or []:
            flow.paragraph(str(finding), lead="•", lead_bold=False)
        flow.space(0.8)
        flow.paragraph(str(draft["impression"]), lead="Impression.")


def _number(value, digits: str) -> str:
    """A table's number (``digits``: a format spec), "–" for none."""
    if value is None or isinstance(value, bool):
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return format(number, digits) if math.isfinite(number) else "–"


_LESION_COLUMNS = [
    _Column("Id", 7.0, text=True), _Column("View", 10.0, text=True), _Column("Paired with", 30.0, text=True),
    _Column("Side", 11.0, text=True), _Column("Area (mm²)", 15.0), _Column("Diameter (mm)", 15.0),
    _Column("Max counts", 13.0), _Column("Lesion / normal bone", 20.0), _Column("Mean probability", 18.0),
    _Column("BSI contribution (%)", 20.0), _Column("Note", 27.0, text=True),
]


def _lesion_rows(report: dict) -> list[tuple[str | None, list[list[str]]]]:
    """The lesion table's groups: one per region (:func:`.html.group_by_region`), headed as on the page."""
    views = list(report.get("views") or {})
    groups: list[tuple[str | None, list[list[str]]]] = []
    for region, lesions in group_by_region(report.get("lesions") or []):
        per_view = {v: sum(1 for l in lesions if l.get("view") == v)
                    for v in views or sorted({str(l.get("view")) for l in lesions})}
        counts = ", ".join(f"{v} {n}" for v, n in per_view.items())
        view_bsi = ", ".join(f"{v} {view_region_bsi(report, v, region):.3g}" for v in per_view)
        header = (f"{region_title(region)}: {len(lesions)} lesion{'s' if len(lesions) != 1 else ''} ({counts}); "
                  f"BSI contribution {region_bsi_percent(report, region):.3g} % ({views_read(report, region)}: "
                  f"{view_bsi})")
        rows = []
        for lesion in lesions:
            partner = lesion.get("paired_with")
            nearer = nearer_view_missing(report, lesion)
            paired = (f"{'POST' if lesion.get('view') == 'ANT' else 'ANT'} {partner}" if partner is not None
                      else f"– (not seen on {nearer}, the nearer view)" if nearer else "–")
            notes = []
            if lesion.get("beside"):
                notes.append(f"beside {str(lesion['beside']).replace('_', ' ')}")
            if lesion.get("region_alternative"):
                notes.append(f"or {region_title(str(lesion['region_alternative'])).lower()} behind it")
            if lesion.get("origin"):
                notes.append(f"outline: {lesion['origin']}")
            rows.append([str(lesion.get("id")), str(lesion.get("view")), paired, str(lesion.get("laterality") or "–"),
                         _number(lesion.get("area_mm2"), ".0f"), _number(lesion.get("equivalent_diameter_mm"), ".0f"),
                         _number(lesion.get("counts_max"), ".0f"), _number(lesion.get("lesion_to_normal_bone"), ".3g"),
                         _number(lesion.get("probability_mean"), ".3g"),
                         _number(lesion.get("bsi_contribution_percent"), ".3g"), "; ".join(notes)])
        groups.append((header, rows))
    spilled = spilled_regions(report)
    if spilled:
        said = "; ".join(f"{region_title(region)} {bsi:.3g} %" for region, bsi in spilled.items())
        groups.append((f"Also in the BSI, bones an outline named elsewhere reaches into: {said}", []))
    return groups


_LEFT_OUT_COLUMNS = [
    _Column("Id", 8.0, text=True), _Column("View", 10.0, text=True), _Column("Left out as", 26.0, text=True),
    _Column("Region", 44.0, text=True), _Column("Side", 11.0, text=True), _Column("Area (mm²)", 15.0),
    _Column("Max counts", 13.0), _Column("Lesion / normal bone", 20.0), _Column("Max probability", 18.0),
    _Column("BSI if restored (%)", 21.0),
]


def _left_out_rows(report: dict) -> list[list[str]]:
    """The calls the reading rules left out, one row each (view, then id)."""
    calls = sorted(report.get("left_out_calls") or [], key=lambda c: (str(c.get("view")), id_order(c.get("id"))))
    return [[f"x{call.get('id')}", str(call.get("view")), str(call.get("rule") or "").replace("_", " "),
             region_title(str(call.get("region"))), str(call.get("laterality") or "–"),
             _number(call.get("area_mm2"), ".0f"), _number(call.get("counts_max"), ".0f"),
             _number(call.get("lesion_to_normal_bone"), ".3g"), _number(call.get("probability_max"), ".3g"),
             _number(call.get("bsi_contribution_percent"), ".3g")] for call in calls]


def report_pdf(report: dict, images: Mapping[str, np.ndarray]) -> bytes:
    """The PDF of a report dict (:func:`.report_json.report_dict`; module docstring).

    Args:
        report: the report dict.
        images: view -> the view drawn without outlines, an RGB or grey array at the view's matrix (``np.asarray`` of
            :func:`.overlay.overlay_image` with ``scale=1, outlines=False``); the outlines and ids are drawn over it.

    Returns:
        The PDF file's bytes: one A4 page for a report whose lesions fit under the images, more for a longer one.

    Example::

        pdf = report_pdf(report, {"ANT": np.asarray(overlay_image(counts, result, scale=1, outlines=False))})
    """
    with rc_context({"pdf.fonttype": 3, "font.family": FONT, "pdf.compression": 6}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from")  # a box is printed (module docstring)
        document = _layout(report, images, IMAGE_HEIGHTS_MM[0])
        if len(document.pages) > 1 and len(report.get("lesions") or []) <= ONE_PAGE_LESIONS:
            for tallest in IMAGE_HEIGHTS_MM[1:]:  # the images shrunk, step by step, to keep the report on one page
                shorter = _layout(report, images, tallest)
                if len(shorter.pages) == 1:
                    document = shorter  # else the tallest images, the report on two pages
                    break
        buffer = io.BytesIO()
        patient = report.get("patient") or {}
        study = report.get("study") or {}
        metadata = {"Title": f"Bone scan lesion report, patient {patient.get('id') or 'unknown'}"
                             + (f", study {display_date(study['study_date'])}" if study.get("study_date") else ""),
                    "Subject": f"{caution(report)}: scintiseg lesion outlines, Bone Scan Index, QC flags and draft "
                               "findings",
                    "Creator": f"scintiseg {report.get('scintiseg_version', '')}",
                    "Author": "scintiseg (reviewed outlines)" if isinstance(report.get("review"), dict)
                    else "scintiseg (machine draft)"}
        with PdfPages(buffer, metadata=metadata) as pdf:
            for sheet in document.pages:
                pdf.savefig(sheet.figure)
        return buffer.getvalue()


def _layout(report: dict, images: Mapping[str, np.ndarray], tallest: float) -> _Document:
    """Every page of the report laid out, the images at most ``tallest`` mm high (footers included)."""
    document = _Document(report)
    page = _Page()
    document.pages.append(page)
    top = _header(document, page)
    used, height = _views(page, report, images, top, tallest)
    side = MARGIN_MM + used + 5.0
    flow = _Flow(document, [_Region(page, side, PAGE_MM[0] - MARGIN_MM - side, top, top + height),
                            _Region(page, MARGIN_MM, _WIDTH, top + height + 3.0, _BOTTOM)])
    _summary(flow, report)
    flow.full_width()
    flow.heading("Lesions by region")
    if report.get("lesions"):
        _table(flow, _LESION_COLUMNS, _lesion_rows(report))
    else:
        flow.paragraph(no_lesion_text(report))
    calls = _left_out_rows(report)
    if calls:
        flow.heading("Calls left out by a reading rule (not lesions; counted in nothing)")
        _table(flow, _LEFT_OUT_COLUMNS, [(None, calls)])
    note = ("Every column and flag is defined in report.html and report.json beside this file; to correct the "
            "outlines, edit the LabelMe files there and run scintiseg review.")
    if flow.y + 2.0 + 2 * 6.5 * _LINE * _PT_MM <= flow.region.bottom:  # where it fits: never a page for it alone
        flow.space(2.0)
        flow.paragraph(note, 6.5, colour=_GREY)
    document.footers()
    return document
