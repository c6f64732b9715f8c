"""Second independent phantom of whole-body planar bone scintigraphy (99mTc-MDP, ANT and POST), with ground truth.

Written without reading scintiseg's own phantom or the first independent phantom: a blind stand-in for the
phantoms other people build, to test a lesion model trained on scintiseg's phantom.  Numbers below are my
choices; the source or the reason is given with each.  Units: mm, counts.

Interface
---------
``make_case(seed, *, lesions=True, rows=1024, cols=256, spacing_mm=None, total_counts=None) -> Case`` and
``write_dicom(case, folder) -> list[Path]``; ``python independent_phantom_2.py --preview OUT.png [--seed S]
[--real NM1.dcm] [--n N] [--dicom FOLDER]``.  Row 0 is the head end.  ANT is seen from the front (patient's
right on the image's left); POST is stored as the posterior detector acquires it (patient's right on the image's
right): mirroring POST left-right puts it on ANT's geometry.  Views are float32 arrays of integer counts.
``make_case(seed, lesions=False)`` is the lesion-free twin: same anatomy, look-alikes, uptakes, framing, count
scale and base-noise draw; only the lesions' extra counts (a separate Poisson draw from separate generators)
and the truth are absent, so the views are identical away from the lesions.

Patient (drawn per seed)
------------------------
* Sex 50/50.  Age: 5 % children 5-15 y, 7 % young adults 16-25 y, the rest N(66, 12) y clipped to 26-92
  (bone-scan populations are mostly older cancer patients).
* Height: adult M N(1750, 70), F N(1625, 65) mm; children from a growth curve (63 % of adult height at 5 y,
  85 % at 12 y); -2 mm per year beyond 60.  BMI: adults log-normal, median 26.5, sd 0.19 in log (about 25 %
  obese, up to 52); children median 17.5-20.  Subcutaneous fat (BMI - 18.5) x 2.3 mm (x 1.3 for women).
* Proportions (fraction of height below the vertex) from standing landmarks of NASA / Drillis-Contini
  anthropometry: chin 0.131, C7 0.150, acromion 0.182, sternal notch 0.186, T12/L1 0.311, iliac crest
  0.397, L5/S1 0.414, hip joint 0.478, crotch 0.527, knee joint 0.723, ankle 0.957, elbow 0.376, wrist
  0.520; biacromial breadth 0.227 H (M) / 0.218 H (F); hip-joint half distance 0.050 H / 0.054 H.  A 6-year
  old has a larger head (chin 0.168 H) and shorter legs; ages 6-17 are blended.  Head breadth / length
  152 / 196 mm (M), x 0.95 (F), x 0.9 at 6 y.
* Pose: arms at the sides (55 %), forearms on the abdomen (25 %) or hands on the thighs (20 %), each arm
  differs from the other in 15 %; arm-trunk gap -12 to 35 mm; palms to the thigh or down.  Legs: ankles
  30-150 mm from the midline, knees on a pillow (30 %, raised 40-110 mm), external rotation 0-40 deg (15 %
  slightly internal), plantar flexion 25-60 deg.  Whole-body yaw N(0, 1.3 deg) in the coronal plane, roll
  N(0, 3 deg) about the long axis, lateral offset N(0, 15) mm; head pillow 25-70 mm, head flexion -5 to 20
  deg, head turned N(0, 6 deg).

Anatomy (procedural 3-D, patient frame; x = patient's left, y = anterior from the table top, z = caudal)
-----------------------------------------------------------------------------------------------------
* Bones are unions of ellipsoids, elliptic cylinders (vertebral bodies: flat end plates), tapered capsules
  and ellipsoidal shells, grouped per bone: 24 vertebrae (body, pedicles, laminae, facets, transverse and
  spinous processes; kyphosis / lordosis depth profile), sacrum and coccyx, pelvis (iliac crest, tiled iliac
  wings, acetabular cups, ischia, pubic rami, symphysis), 24 ribs (polylines on an elliptical cage: head,
  tubercle, angle, posterior descent then a steeper anterior arc ending at the costochondral junction;
  ribs 11-12 short; size and slope jittered per rib), sternum (manubrium, body, xiphoid, just under the
  skin), clavicles (S-curve),
  scapulae (tiled blade, borders, spine, acromion, coracoid, glenoid), humeri, radius and ulna (pronation
  from the hand pose), hands (carpus, 5 metacarpals, 14 phalanges, finger curl), femora (head, neck,
  trochanters, shaft, condyles, patella), tibia and fibula, feet (talus, calcaneus, midfoot, metatarsals,
  toes), skull (closed calvarial shell 7-8 mm: upper half-ellipsoid joined to a flatter skull base, petrous
  ridges, clivus, zygomas, nasal bones, hollow maxilla), mandible (U of capsules).  Bone sizes scale with
  height (and x 0.93 for women).
* Soft tissue: trunk as superelliptic cross-sections (flat back on the table, rounder front; exponent 3.2
  / 2.2) with a fat shell around a lean core, widened by fat and by abdominal obesity (more in men); head,
  neck, tapered-capsule limbs, hands and feet; breasts in women (80-2000 ml, supine: flattened and falling
  laterally; one missing after mastectomy in 12 %); lungs (mu 0.0045 /mm); heart blood pool.
* Attenuation at 140.5 keV (NIST): soft tissue 0.0152 /mm, lung 0.0045 /mm, bone adds 0.004-0.010 /mm over
  soft tissue (cortical bone 0.029 /mm is diluted by marrow), carbon-fibre table 0.04-0.10 (line integral).

Uptake (activity concentration relative to muscle / extracellular fluid = 1)
----------------------------------------------------------------------------
* Bone: log-normal (sd 0.33 in log), median 16 x (1 - 0.006 per year over 55) in adults (slower clearance and
  turnover with age) and 20 up to 25 y: calibrated on NM1 at its 3.6 M counts, so that the in-body
  percentiles (NM1 p10 / p50 / p90 / p99 = 14 / 30 / 61 / 120) and the ANT lumbar-spine-to-soft-tissue ratio
  (about 2.6) are matched (ours, 12 patients at 3.6 M: p10 13-28, p50 26-57, p90 48-92, p99 70-200).  Per-bone
  multipliers (x a per-patient log-normal jitter, sd 0.08-0.25): thoracic / lumbar vertebrae 1.0-1.05,
  cervical 0.75 (posterior elements x 0.5-0.7 of the body, lumbar ones x 1.0-1.6 more with age), sacrum 1.05,
  pelvis 1.0, sternum 1.2, ribs 0.56, clavicles 0.5, scapulae 0.75, skull vault 0.27 (M) / 0.33 (F) with a
  wide spread (vault uptake is variable and higher in women), face 0.75 x sqrt(vault), mandible 0.4, humeri
  0.45, forearms 0.42 (x 1.0-1.15 on the dominant side, right in 88 %), femora 0.5, tibiae 0.55, hands and
  feet 0.6; joint ends 0.6-1.15 x the shaft value per volume (they are large cancellous volumes).
* Soft tissue: trunk core 1, fat 0.3-0.55, limbs 0.9-1.3, head 0.75, lungs 0.2-0.35, heart 1.4-2.4,
  breasts 0.55-0.85.  Kidneys: excess log-normal median 3.5 (sd 0.4), one absent in 2 %, hydronephrotic hot
  renal pelvis in 5 %.  Bladder: 40-600 ml (log-uniform, scaled down for children) holding 0.4-15 % of the
  skeletal activity (log-uniform; NM1's bladder holds about 3 %): urine 2-400 x soft tissue, sometimes the
  hottest object by far.  Free pertechnetate: thyroid in 12 %, stomach in 4 %.
* Superscan (2.5 % of all patients, about 3.6 % of those with lesions): bone x 1.6, kidneys x 0.15, bladder x 0.4
  volume and x 0.3 urine.

Benign hot spots and artefacts (in the base image and the twin; never labelled)
------------------------------------------------------------------------------
Sacroiliac joints (x 1.15-1.7), manubriosternal junction (x 1.1-1.6), costochondral junctions (young x 1.6-3,
30 % of adults x 1.1-1.6), growth plates and apophyses (distal femur, proximal tibia and humerus, distal
radius, femoral neck, iliac crest; x 3-6 under 16 y, fading to x 1 at 25 y), degenerative change rising with
age (knee medial compartment and patello-femoral, hips, acromioclavicular and glenohumeral joints, base of
thumb and finger joints, first MTP / midfoot, sternoclavicular joints, lumbar / lower thoracic end-plate
osteophytes and facets; Poisson(2.5 x age factor) spinal foci; x 1.3-3), old rib fractures (10 %: 1-4
aligned foci on consecutive ribs, x 1.6-3.5), a vertebral compression fracture band (6-12 %, x 1.8-3),
Paget's disease of one bone (1.2 %, x 2-4), hyperostosis frontalis (15 % of women over 45), dental /
maxillary foci (15 %), injection site (75 %: antecubital, forearm or dorsum of the hand, 2-40 x bone
concentration in a 3-6 mm vein segment; extravasated in 10 % of those, 8-25 mm, with an axillary node in 35 %),
urine contamination (12 %: 1-3 thin blobs on the skin of the groin / thighs or on the table, 1-25 x bone).

Metastases (ground truth)
-------------------------
* Per patient (Soloway-like): none 30 %, solitary 17 %, 2-5 25 %, 6-20 18 %, 21-40 7.5 %, superscan 2.5 %.
* Sites by axial predominance: thoracic spine 20 %, lumbar 15 %, cervical 3 %, sacrum 5 %, pelvis 16 %,
  ribs 18 %, skull 5 %, proximal femora 7 %, proximal humeri 4 %, sternum 3 %, scapulae 3 %, clavicles 1 %
  (spine > ribs > pelvis, over 90 % in vertebrae, pelvis, proximal femur, ribs, proximal humerus and skull).
* Shapes: focal round (ellipsoid, axes x 0.85-1.15), elongated along the bone (60 % of rib lesions, else
  20 %; width 0.35-0.65 of the length), whole vertebral body (35 % of vertebral-body lesions), irregular
  (2-4 overlapping ellipsoids); diffuse (a whole region) in a superscan.  The blob is intersected with the
  host bone (lesions live in bone).  Nominal diameter log-normal, median 17 mm, clipped 8-50 mm; lesions do
  not overlap.  Uptake ratio to the host bone: a per-patient centre log-uniform in 1.5-5 plus a per-lesion
  log-normal spread (sd 0.3), clipped to 1.3-8.0; superscan regions 1.6-2.8.  Lesions are always hot.
* Visibility rule (per view, on the output grid, at the final count level): the lesion's blurred expected
  excess E must reach 0.10 of the expected counts at some pixel of its half-maximum area M, and
  sum(E, M) / sqrt(sum(expected, M)) must reach 4 (Rose criterion).  The mask of a visible lesion is M (its
  blurred excess at or above half its own peak); overlapping masks go to the lesion with the larger excess.
  A lesion visible on neither view is dropped (truth and counts); a lesion visible on one view keeps its
  counts on the other view but has no pixels there.  ``lesion_info``: id, region, uptake_ratio, diameter_mm
  (extent of lesion-in-bone along its principal axis), plus shape and views.  ``involved``: per region, the
  3-D volume of visible lesions inside bone over the region's bone volume.
* Region map: per pixel, the bone region that contributes the most attenuated, unblurred counts, where the
  summed bone chord along the ray is at least 2.5 mm; else 0.  It is the same for the twin.

Camera and acquisition
----------------------
* Parallel-hole LEHR collimators (SIMIND tables): GE (hole 1.5 mm, length 35 mm), Symbia (1.11 / 24.05),
  Philips-like (1.22 / 27), intrinsic FWHM 3.6-3.8 mm; system FWHM = sqrt(geo^2 + intrinsic^2) with
  geo = d (L_eff + z + 10) / L_eff, L_eff = L - 2 / mu_Pb (mu_Pb = 2.69 /mm): about 7 mm at 10 cm.
  Continuous table motion adds sigma 0.8-2.5 mm along the rows.  Depth blur: activity is binned by distance
  to the collimator in 25 mm slabs (tent weights) and each slab is blurred with its own Gaussian.
* Anterior detector: body contouring per row in 60 % (10-40 mm above the highest point within 60 mm), else
  fixed 20-60 mm above the highest point; posterior detector 25-55 mm below the back (table, mattress, gap).
* Scatter in the 20 % window: scatter-to-primary 0.28-0.45 per 20 cm of water-equivalent thickness, spread
  by a two-Gaussian kernel (sigma 14 mm, 55 %; 45 mm, 45 %) applied to the blurred primary.  Lesion excess
  has no scatter (it is a faint broad halo).
* Background (room, detector) 0.04-0.35 counts per (2.26 mm)^2 pixel over the scanned area.  Outside the
  useful field (width 500-545 mm) and beyond the scan range the pixels are 0, as in NM1.
* Counts of the ANT view: log-normal, median 1.8 M, clipped 0.5-5 M (NM1 3.6 M; many sites acquire less);
  POST follows from the physics (same time, same scale).  Pixel size at 256 columns: 2.26 mm (30 %), 2.4 mm
  (15 %), else uniform 2.0-2.8 mm; the field of view stays in mm for other matrices.  Scan range: vertex
  15-110 mm below the start, 20-140 mm below the heels at the end (or the matrix end); 12 % stop early at
  mid-thigh (0.62 H) or mid-calf (0.84 H); half of the scans start up to 35 % of the spare length down.
* Noise: Poisson (base from one generator per view, lesion excess from two others).

Projection method
-----------------
Soft tissue and attenuation live in a coarse volume (8 mm deep voxels at the internal pixel size) filled
with exact partial volumes from per-column ray intervals.  Bones, organs and hot objects are projected
exactly: per pixel column the ray intervals through each primitive are merged (union) within a bone, each
piece weighted by its concentration and by exp(-line integral of mu) from its middle to the detector
(interpolated in the coarse volume).  The internal grid is the output grid, or 2x finer (outputs coarser than
3.2 mm), or 2x coarser and resampled (outputs finer than 1.6 mm).

Speed (measured, one core, OMP_NUM_THREADS=1): 0.63 s per case on average at 1024 x 256 (max 1.1 s over 100
seeds), 0.23 s at 256 x 64, 0.7-0.8 s at 512 x 128 and 2048 x 512; peak resident memory about 380 MB.

DICOM export (style chosen deterministically from the seed)
----------------------------------------------------------
``nm_multiframe``: one NM Image Storage object, two frames (ANT, POST), Frame Increment Pointer = Energy
Window Vector + Detector Vector, Detector Information Sequence with a View Code Sequence per detector (DICOM
CID 26: SCT 399321004 "Anterior projection", SCT 399001007 "Posterior projection"; the X-ray AP / PA codes
R-10206 / 272479007 are not the NM ones).  ``nm_per_view``: one single-frame NM object per view, the view in
Image Comments (ANTERIOR / POSTERIOR) and in the View Code Sequence, Bits Stored 12-16 (never below what the
counts need).  ``ge_whole_body``: GE-like, as NM1: Secondary Capture with Modality NM, Image Type
ORIGINAL/PRIMARY/WHOLE BODY/EMISSION, Series Description "WHOLE BODY ANT" / "WHOLE BODY POST" and the
GEMS_GENIE_1 private dataset name "WHOLE BODY_E" / "_F".  All: uint16 counts (no rescale), Explicit VR Little
Endian, Pixel Spacing = case.pixel_spacing, deterministic UIDs (pydicom generate_uid with seeded entropy; a
lesion-free twin's differ from its patient's scan unless the images are the same), Patient's Name / ID from the seed, Patient Orientation L\\F (ANT) or R\\F (POST) where per view.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from scipy import ndimage

REGION_CLASSES = ('other', 'skull', 'mandible', 'cervical_spine', 'thoracic_spine', 'lumbar_spine', 'sacrum',
                  'ribs_left', 'ribs_right', 'sternum', 'clavicle_left', 'clavicle_right', 'scapula_left',
                  'scapula_right', 'humerus_left', 'humerus_right', 'forearm_left', 'forearm_right', 'hand_left',
                  'hand_right', 'pelvis', 'femur_left', 'femur_right', 'tibia_fibula_left', 'tibia_fibula_right',
                  'foot_left', 'foot_right')
_RID = {name: i for i, name in enumerate(REGION_CLASSES)}
VIEWS = ('ANT', 'POST')

# ---------------------------------------------------------------- physical constants (mm, 140.5 keV)
MU_SOFT = 0.0152      # /mm, soft tissue (NIST water 0.154 /cm; fat and muscle mixed)
MU_LUNG = 0.0045      # /mm, inflated lung (density about 0.3)
DY = 8.0              # mm, depth sampling of the coarse attenuation / soft-tissue volume
SLAB = 25.0           # mm, depth bins for the distance-dependent collimator blur
COLLIMATORS = (       # (hole diameter mm, hole length mm, intrinsic FWHM mm), LEHR designs (SIMIND tables)
    (1.50, 35.0, 3.8),   # GE LEHR (Millennium / Infinia)
    (1.11, 24.05, 3.6),  # Siemens Symbia LEHR
    (1.22, 27.0, 3.7),   # Philips-like LEHR
)
MU_PB = 2.69          # /mm, lead at 140 keV


@dataclass(frozen=True)
class Case:
    views: dict
    lesions: dict
    regions: dict
    lesion_info: list
    involved: dict
    pixel_spacing: tuple
    seed: int


# ====================================================================== geometry primitives
def _unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _ortho(u, ref):
    """Orthonormal frame (columns u, v, w) with u along `u` and v as close as possible to `ref`."""
    u = _unit(u)
    ref = np.asarray(ref, float)
    v = ref - ref.dot(u) * u
    if np.linalg.norm(v) < 1e-6:
        alt = np.array([1.0, 0, 0]) if abs(u[0]) < 0.9 else np.array([0, 1.0, 0])
        v = alt - alt.dot(u) * u
    v = _unit(v)
    return np.column_stack([u, v, np.cross(u, v)])


def _rot(axis, ang):
    axis = _unit(axis)
    x, y, z = axis
    c, s = math.cos(ang), math.sin(ang)
    C = 1 - c
    return np.array([[c + x * x * C, x * y * C - z * s, x * z * C + y * s],
                     [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
                     [z * x * C - y * s, z * y * C + x * s, c + z * z * C]])


_EMPTY_LO = np.inf
_EMPTY_HI = -np.inf


def _halfspace(lo, hi, X, Z, clip):
    """Keep the part of each ray interval where n.(p - p0) <= 0."""
    n, p0 = clip
    g = n[0] * (X - p0[0]) - n[1] * p0[1] + n[2] * (Z - p0[2])
    if abs(n[1]) < 1e-9:
        bad = g > 0
        lo = np.where(bad, _EMPTY_LO, lo)
        hi = np.where(bad, _EMPTY_HI, hi)
        return lo, hi
    t = -g / n[1]
    if n[1] > 0:
        hi = np.minimum(hi, t)
    else:
        lo = np.maximum(lo, t)
    bad = hi <= lo
    return np.where(bad, _EMPTY_LO, lo), np.where(bad, _EMPTY_HI, hi)


class _Ell:
    """Ellipsoid (centre c, axes columns of R, semi-axes s); optional half-space clip; optional shell."""

    def __init__(self, c, s, R=None, clip=None, inner=None):
        self.c = np.asarray(c, float)
        self.s = np.asarray(s, float)
        self.R = np.eye(3) if R is None else np.asarray(R, float)
        self.M = (self.R / self.s).T
        self.ext = np.sqrt(((self.R * self.s) ** 2).sum(axis=1))
        self.clip = clip
        self.inner = inner            # semi-axes of the inner surface (shell)
        self.Mi = None if inner is None else (self.R / np.asarray(inner, float)).T

    def bbox(self):
        return self.c - self.ext, self.c + self.ext

    def _solve(self, M, X, Z):
        dx = X - self.c[0]
        dz = Z - self.c[2]
        dy = -self.c[1]
        m0 = M[0, 0] * dx + M[0, 1] * dy + M[0, 2] * dz
        m1 = M[1, 0] * dx + M[1, 1] * dy + M[1, 2] * dz
        m2 = M[2, 0] * dx + M[2, 1] * dy + M[2, 2] * dz
        n = M[:, 1]
        A = float(n @ n)
        B = m0 * n[0] + m1 * n[1] + m2 * n[2]
        C = m0 * m0 + m1 * m1 + m2 * m2 - 1.0
        disc = B * B - A * C
        ok = disc > 0
        sq = np.sqrt(np.where(ok, disc, 0.0))
        lo = np.where(ok, (-B - sq) / A, _EMPTY_LO)
        hi = np.where(ok, (-B + sq) / A, _EMPTY_HI)
        return lo, hi

    def pieces(self, X, Z):
        lo, hi = self._solve(self.M, X, Z)
        if self.Mi is None:
            out = [(lo, hi)]
        else:
            li, hi_i = self._solve(self.Mi, X, Z)
            hit = np.isfinite(li)
            a_hi = np.where(hit, np.minimum(hi, li), hi)
            b_lo = np.where(hit, np.maximum(lo, hi_i), _EMPTY_LO)
            b_hi = np.where(hit, hi, _EMPTY_HI)
            out = [(lo, a_hi), (b_lo, b_hi)]
        if self.clip is not None:
            out = [_halfspace(a, b, X, Z, self.clip) for a, b in out]
        return out

    def sample(self, rng, frac=0.6):
        v = rng.normal(size=3)
        v *= rng.random() ** (1 / 3) * frac / np.linalg.norm(v)
        return self.c + self.R @ (self.s * v), self.R[:, int(np.argmax(self.s))]

    def volume(self):
        return 4.0 / 3.0 * math.pi * float(np.prod(self.s))


class _Cap:
    """Tapered capsule: points within r(t) of segment p0-p1 (r linear along the axis), spherical ends."""

    def __init__(self, p0, p1, r0, r1=None):
        self.p0 = np.asarray(p0, float)
        self.p1 = np.asarray(p1, float)
        self.r0 = float(r0)
        self.r1 = float(r0 if r1 is None else r1)
        d = self.p1 - self.p0
        L = float(np.linalg.norm(d))
        if L < 1e-6:
            d = np.array([0, 0, 1e-3])
            L = 1e-3
        u = d / L
        if abs(u[1]) > 0.985:                      # avoid axes along the ray (numerical guard)
            u = _unit(u + np.array([0.2, 0, 0.2]))
            self.p1 = self.p0 + u * L
        self.u, self.L = u, L
        self.k = (self.r1 - self.r0) / L

    def bbox(self):
        r = max(self.r0, self.r1)
        return np.minimum(self.p0, self.p1) - r, np.maximum(self.p0, self.p1) + r

    @staticmethod
    def _sphere(c, r, X, Z):
        wx = X - c[0]
        wz = Z - c[2]
        wy = -c[1]
        Bq = wy
        Cq = wx * wx + wz * wz + wy * wy - r * r
        disc = Bq * Bq - Cq
        ok = disc > 0
        sq = np.sqrt(np.where(ok, disc, 0.0))
        return np.where(ok, -Bq - sq, _EMPTY_LO), np.where(ok, -Bq + sq, _EMPTY_HI)

    def pieces(self, X, Z):
        u, p0 = self.u, self.p0
        wx = X - p0[0]
        wz = Z - p0[2]
        wy = -p0[1]
        wu = wx * u[0] + wy * u[1] + wz * u[2]
        uy = u[1]
        alpha = self.r0 + self.k * wu
        beta = self.k * uy
        A = 1.0 - uy * uy - beta * beta
        B = (wy - wu * uy) - alpha * beta
        C = wx * wx + wy * wy + wz * wz - wu * wu - alpha * alpha
        disc = B * B - A * C
        ok = (disc > 0) & (alpha + beta * 0 > -1e9)
        sq = np.sqrt(np.where(ok, disc, 0.0))
        lo = np.where(ok, (-B - sq) / A, _EMPTY_LO)
        hi = np.where(ok, (-B + sq) / A, _EMPTY_HI)
        if abs(uy) > 1e-9:
            t0 = (0.0 - wu) / uy
            t1 = (self.L - wu) / uy
            lo = np.maximum(lo, np.minimum(t0, t1))
            hi = np.minimum(hi, np.maximum(t0, t1))
        else:
            inside = (wu >= 0) & (wu <= self.L)
            lo = np.where(inside, lo, _EMPTY_LO)
            hi = np.where(inside, hi, _EMPTY_HI)
        a_lo, a_hi = self._sphere(self.p0, self.r0, X, Z)
        b_lo, b_hi = self._sphere(self.p1, self.r1, X, Z)
        lo = np.minimum(np.minimum(np.where(hi > lo, lo, _EMPTY_LO), a_lo), b_lo)
        hi = np.maximum(np.maximum(np.where(hi > lo, hi, _EMPTY_HI), a_hi), b_hi)
        return [(lo, hi)]

    def sample(self, rng, frac=0.6):
        t = rng.uniform(0.1, 0.9)
        c = self.p0 + t * (self.p1 - self.p0)
        r = self.r0 + (self.r1 - self.r0) * t
        off = rng.normal(size=3)
        off -= off.dot(self.u) * self.u
        off *= 0.3 * r * rng.random() / (np.linalg.norm(off) + 1e-9)
        return c + off, self.u

    def volume(self):
        r = 0.5 * (self.r0 + self.r1)
        return math.pi * r * r * self.L


class _Cyl:
    """Elliptic cylinder (cross-section semi-axes s[0], s[1] along R[:, 0], R[:, 1]; half-height s[2] along R[:, 2])."""

    def __init__(self, c, s, R):
        self.c = np.asarray(c, float)
        self.s = np.asarray(s, float)
        self.R = np.asarray(R, float)
        self.ext = (np.abs(self.R) * self.s).sum(axis=1)
        self.clip = None

    def bbox(self):
        return self.c - self.ext, self.c + self.ext

    def pieces(self, X, Z):
        R, c, (a, b_, h) = self.R, self.c, self.s
        dx, dy, dz = X - c[0], -c[1], Z - c[2]
        m0 = R[0, 0] * dx + R[1, 0] * dy + R[2, 0] * dz
        m1 = R[0, 1] * dx + R[1, 1] * dy + R[2, 1] * dz
        m2 = R[0, 2] * dx + R[1, 2] * dy + R[2, 2] * dz
        n0, n1, n2 = R[1, 0], R[1, 1], R[1, 2]
        A = n0 * n0 / (a * a) + n1 * n1 / (b_ * b_)
        B = m0 * n0 / (a * a) + m1 * n1 / (b_ * b_)
        C = m0 * m0 / (a * a) + m1 * m1 / (b_ * b_) - 1.0
        if A < 1e-12:
            ok = C <= 0
            lo = np.where(ok, -1e9, _EMPTY_LO)
            hi = np.where(ok, 1e9, _EMPTY_HI)
        else:
            disc = B * B - A * C
            ok = disc > 0
            sq = np.sqrt(np.where(ok, disc, 0.0))
            lo = np.where(ok, (-B - sq) / A, _EMPTY_LO)
            hi = np.where(ok, (-B + sq) / A, _EMPTY_HI)
        if abs(n2) > 1e-12:
            t0 = (-h - m2) / n2
            t1 = (h - m2) / n2
            lo = np.maximum(lo, np.minimum(t0, t1))
            hi = np.minimum(hi, np.maximum(t0, t1))
        else:
            ok = np.abs(m2) <= h
            lo = np.where(ok, lo, _EMPTY_LO)
            hi = np.where(ok, hi, _EMPTY_HI)
        bad = hi <= lo
        return [(np.where(bad, _EMPTY_LO, lo), np.where(bad, _EMPTY_HI, hi))]

    def sample(self, rng, frac=0.6):
        r = math.sqrt(rng.random()) * frac
        t = rng.uniform(0, 2 * math.pi)
        v = np.array([r * math.cos(t), r * math.sin(t), rng.uniform(-frac, frac)])
        return self.c + self.R @ (self.s * v), self.R[:, 2]

    def volume(self):
        return math.pi * self.s[0] * self.s[1] * 2 * self.s[2]


class _Xf:
    """Rigid patient pose: local (head) rotation, global yaw (coronal) and roll (axial), then shift."""

    def __init__(self, yaw, roll, pivot, shift):
        cy, sy = math.cos(yaw), math.sin(yaw)
        cr, sr = math.cos(roll), math.sin(roll)
        Ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        Rr = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
        self.R = Rr @ Ry
        self.pivot = np.asarray(pivot, float)
        self.shift = np.asarray(shift, float)
        self.local = None
        self.tan_roll = math.tan(roll)

    def p(self, x):
        x = np.asarray(x, float)
        if self.local is not None:
            Rl, pl = self.local
            x = (x - pl) @ Rl.T + pl
        return (x - self.pivot) @ self.R.T + self.pivot + self.shift

    def m(self, R):
        R = np.asarray(R, float)
        if self.local is not None:
            R = self.local[0] @ R
        return self.R @ R


class _Group:
    def __init__(self, name, region, dmu):
        self.name, self.region, self.dmu = name, _RID[region], dmu
        self.prims, self.conc, self.tags = [], [], []


class _Builder:
    """Collects primitives in the patient frame and stores them in the camera frame."""

    def __init__(self, xf):
        self.xf = xf
        self.groups = []
        self.soft = []        # (prim, conc, mode) deposited in the coarse volume
        self.hot = []         # (prim, excess conc) soft-tissue objects projected exactly (kidneys, bladder ...)
        self.cur = None

    def group(self, name, region, dmu=0.006):
        g = _Group(name, region, dmu)
        self.groups.append(g)
        self.cur = g
        return g

    def E(self, c, s, R=None, clip=None, inner=None):
        xf = self.xf
        c2 = xf.p(c)
        R2 = xf.m(np.eye(3) if R is None else R)
        if clip is not None:
            n, p0 = clip
            clip = (xf.m(np.asarray(n, float)[:, None])[:, 0], xf.p(p0))
        return _Ell(c2, s, R2, clip, inner)

    def Cy(self, c, s, R):
        return _Cyl(self.xf.p(c), s, self.xf.m(R))

    def Ed(self, c, u, s, ref=(0, 0, 1), clip=None):
        return self.E(c, s, _ortho(u, ref), clip)

    def C(self, p0, p1, r0, r1=None):
        return _Cap(self.xf.p(p0), self.xf.p(p1), r0, r1)

    def bone(self, prim, conc=1.0, tag=None):
        self.cur.prims.append(prim)
        self.cur.conc.append(conc)
        self.cur.tags.append(tag)
        return prim

    def chain(self, pts, r0, r1=None, conc=1.0, tag=None):
        pts = np.asarray(pts, float)
        n = len(pts) - 1
        r1 = r0 if r1 is None else r1
        for i in range(n):
            ra = r0 + (r1 - r0) * i / n
            rb = r0 + (r1 - r0) * (i + 1) / n
            self.bone(self.C(pts[i], pts[i + 1], ra, rb), conc, tag)


# ====================================================================== patient draw
_ADULT = dict(chin=0.131, c1=0.080, c7=0.150, t12=0.311, l5=0.414, sac=0.490, acr=0.182, notch=0.186,
              crest=0.397, hip=0.478, sym=0.492, crotch=0.527, knee=0.723, ankle=0.957, elbow=0.376,
              wrist=0.520)
_CHILD = dict(chin=0.168, c1=0.103, c7=0.185, t12=0.352, l5=0.452, sac=0.525, acr=0.212, notch=0.216,
              crest=0.438, hip=0.515, sym=0.528, crotch=0.560, knee=0.745, ankle=0.960, elbow=0.405,
              wrist=0.545)


def _draw_patient(rng):
    P = {}
    u = rng.random()
    if u < 0.05:
        age = rng.uniform(5, 15)
    elif u < 0.12:
        age = rng.uniform(16, 25)
    else:
        age = float(np.clip(rng.normal(66, 12), 26, 92))
    sex = 'F' if rng.random() < 0.5 else 'M'
    if sex == 'M':
        Hadult = rng.normal(1750, 70)
    else:
        Hadult = rng.normal(1625, 65)
    grow = np.interp(age, [5, 8, 10, 12, 14, 16, 18], [0.63, 0.72, 0.78, 0.85, 0.92, 0.97, 1.0])
    if sex == 'F':
        grow = np.interp(age, [5, 8, 10, 12, 14, 16], [0.66, 0.76, 0.83, 0.92, 0.98, 1.0])
    H = Hadult * grow - max(0.0, age - 60) * 2.0
    if age < 18:
        bmi = float(np.exp(rng.normal(math.log(17.5 + 0.3 * (age - 5)), 0.15)))
    else:
        bmi = float(np.clip(np.exp(rng.normal(math.log(26.5), 0.19)), 16.5, 52))
    P.update(age=age, sex=sex, H=float(H), bmi=bmi)
    f = float(np.clip((17 - age) / 11, 0, 1))
    P['child'] = f
    P['lm'] = {k: H * ((1 - f) * _ADULT[k] + f * _CHILD[k]) for k in _ADULT}
    # subcutaneous fat thickness (mm): grows with BMI, more in women
    fat = max(4.0, (bmi - 18.5) * 2.3) * (1.3 if sex == 'F' else 1.0)
    P['fat'] = fat
    return P


# ====================================================================== anatomy
def _anatomy(P, rng, b):
    """Build soft tissue, organs and the skeleton (bone groups) into builder b (patient frame)."""
    H, lm, fat, sex = P['H'], P['lm'], P['fat'], P['sex']
    sH = H / 1750.0
    sf = 1.0 if sex == 'M' else 0.93
    child = P['child']
    sb = sH * sf                                   # bone width scale
    U = P['uptake']                                # per-bone uptake multipliers
    fb = fat * 0.55                                # posterior fat (compressed on the table)
    back = fb + 14.0                               # depth of the spinous-process tips above the table
    P['back'] = back

    # ------------------------------------------------------------------ spine centre line
    zc1, zc7, zt12, zl5, zsac = lm['c1'], lm['c7'], lm['t12'], lm['l5'], lm['sac']
    levels = []
    for i in range(7):
        levels.append(('C%d' % (i + 1), 'cervical_spine', zc1 + (zc7 - zc1) * i / 7, (zc7 - zc1) / 7))
    for i in range(12):
        levels.append(('T%d' % (i + 1), 'thoracic_spine', zc7 + (zt12 - zc7) * i / 12, (zt12 - zc7) / 12))
    for i in range(5):
        levels.append(('L%d' % (i + 1), 'lumbar_spine', zt12 + (zl5 - zt12) * i / 5, (zl5 - zt12) / 5))
    pillow = P['pillow']
    # depth (above table) of vertebral-body centres: control points along z (kyphosis / lordosis)
    zk = [zc1, zc7, zc7 + 0.3 * (zt12 - zc7), zt12, zt12 + 0.5 * (zl5 - zt12), zl5, zsac]
    yk = [pillow + 55 * sH, back + 58 * sH, back + 50 * sH, back + 58 * sH, back + 76 * sH,
          back + 70 * sH, back + 52 * sH]
    yk[0] = max(yk[0], back + 60 * sH)

    def y_spine(z):
        return float(np.interp(z, zk, yk))

    vert = {}
    for k, (name, region, z0, dz) in enumerate(levels):
        zc = z0 + dz / 2
        yc = y_spine(zc)
        slope = (y_spine(zc + 5) - y_spine(zc - 5)) / 10.0
        ax = _unit([0, slope, 1])                  # cranio-caudal body axis
        if region == 'cervical_spine':
            t = k / 6
            w, d, h = (20 + 6 * t) * sb, 16 * sb, 0.78 * dz
            tp, sp = 10 * sb, 22 * sb
        elif region == 'thoracic_spine':
            t = (k - 7) / 11
            w, d, h = (28 + 14 * t) * sb, (24 + 8 * t) * sb, 0.87 * dz
            tp, sp = 20 * sb, (30 - 4 * t) * sb
        else:
            t = (k - 19) / 4
            w, d, h = (44 + 8 * t) * sb, (33 + 3 * t) * sb, 0.84 * dz
            tp, sp = (26 + 4 * (1 - abs(t - 0.5) * 2)) * sb, 30 * sb
        c = np.array([0.0, yc, zc])
        R = _ortho(ax, [1, 0, 0])                   # columns: axis(z), lateral(x), AP
        Rb = np.column_stack([R[:, 1], R[:, 2], R[:, 0]])   # lateral, AP, axial
        b.group(name, region, dmu=0.005)
        mult = U[region]
        body = b.bone(b.Cy(c, [w / 2, d / 2, h / 2], Rb), mult, 'vb')
        # posterior elements: pedicles, laminae, spinous and transverse processes
        apd = -Rb[:, 1]                            # posterior direction
        lat = Rb[:, 0]
        pe = (0.5 if region == 'cervical_spine' else 0.7) * mult * U['post_el']
        for sgn in (-1, 1):
            ped = c + apd * (d / 2 + 5 * sb) + lat * sgn * (w / 2 - 5 * sb)
            b.bone(b.E(ped, [5 * sb, 6 * sb, 6 * sb], Rb), pe, 'pe')
            facet = c + apd * (d / 2 + 14 * sb) + lat * sgn * (w / 2 - 3 * sb)
            b.bone(b.C(ped, facet, 4.5 * sb), pe, 'pe')
            b.bone(b.C(facet, c + apd * (d / 2 + 22 * sb), 4.0 * sb), pe, 'pe')
            if region != 'cervical_spine':
                tip = c + apd * (d / 2 + 12 * sb) + lat * sgn * (w / 2 + tp)
                b.bone(b.C(facet, tip, 4.0 * sb, 3.5 * sb), 0.8 * pe, 'pe')
        spin_root = c + apd * (d / 2 + 22 * sb)
        spin_tip = spin_root + apd * sp * 0.75 + ax * sp * (0.55 if region == 'thoracic_spine' else 0.2)
        b.bone(b.C(spin_root, spin_tip, 4.0 * sb, 3.0 * sb), pe, 'pe')
        vert[name] = dict(c=c, w=w, d=d, h=h, R=Rb, body=body, z=zc, y=yc)
    P['vert'] = vert

    # ------------------------------------------------------------------ sacrum and coccyx
    l5 = vert['L5']
    b.group('sacrum', 'sacrum', dmu=0.005)
    zs0 = zl5
    zs1 = zsac
    sl = zs1 - zs0
    s1c = np.array([0, l5['y'] - 6 * sH, zs0 + 0.1 * sl])
    b.bone(b.E(s1c, [24 * sb, 16 * sb, 0.09 * sl]), U['sacrum'], 'vb')
    n_seg = 5
    for i in range(n_seg):
        t = (i + 0.5) / n_seg
        z = zs0 + 0.05 * sl + t * 0.78 * sl
        y = s1c[1] - (s1c[1] - (back + 24 * sH)) * min(1.0, t * 1.3)
        half = (52 - 36 * t) * sb
        b.bone(b.E([0, y, z], [half, 7 * sb, 0.09 * sl], _ortho([0, -0.6, 1], [1, 0, 0])[:, [1, 2, 0]]),
               U['sacrum'], 'sac')
    b.bone(b.C([0, back + 22 * sH, zs0 + 0.84 * sl], [0, back + 30 * sH, zs1], 5 * sb, 3 * sb), 0.7 * U['sacrum'])
    P['si'] = [(sgn * 40 * sb, s1c[1] - 8 * sH, zs0 + 0.12 * sl, zs0 + 0.55 * sl) for sgn in (-1, 1)]

    # ------------------------------------------------------------------ pelvis
    zh = lm['hip']
    hx = (0.050 if sex == 'M' else 0.054) * H * (1 - 0.1 * child)
    yh = back + 85 * sH + 0.25 * fat
    P['hip'] = (hx, yh, zh)
    b.group('pelvis', 'pelvis', dmu=0.006)
    up = U['pelvis']
    zcrest = lm['crest']
    for sgn in (-1, 1):
        # iliac crest from PSIS to ASIS
        crest = [(sgn * 38 * sb, back + 26 * sH, zh - (zh - zcrest) * 0.70),
                 (sgn * 62 * sb, back + 22 * sH, zh - (zh - zcrest) * 0.96),
                 (sgn * 98 * sb, yh - 42 * sH, zcrest),
                 (sgn * 122 * sb, yh - 5 * sH, zh - (zh - zcrest) * 0.92),
                 (sgn * 118 * sb, yh + 38 * sH, zh - (zh - zcrest) * 0.62)]
        b.chain(crest, 6.5 * sb, 6 * sb, up * 0.75, 'crest')
        P.setdefault('crest', []).append(crest)
        low = [(sgn * 46 * sb, s1c[1] - 10 * sH, zh - (zh - zcrest) * 0.35),
               (sgn * 62 * sb, yh - 40 * sH, zh - 38 * sH),
               (sgn * 80 * sb, yh - 22 * sH, zh - 30 * sH),
               (sgn * (hx + 5 * sb), yh, zh - 30 * sH),
               (sgn * (hx + 12 * sb), yh + 28 * sH, zh - 36 * sH)]
        crest = np.array(crest)
        low = np.array(low)
        nu, nv = 5, 3
        for i in range(nu):
            for j in range(nv):
                tu = (i + 0.5) / nu
                tv = (j + 0.5) / nv
                cu = crest[min(int(tu * 4), 3)] + (crest[min(int(tu * 4), 3) + 1] - crest[min(int(tu * 4), 3)]) * (
                    tu * 4 - min(int(tu * 4), 3))
                lu = low[min(int(tu * 4), 3)] + (low[min(int(tu * 4), 3) + 1] - low[min(int(tu * 4), 3)]) * (
                    tu * 4 - min(int(tu * 4), 3))
                p = cu + (lu - cu) * tv
                du = _unit(crest[-1] - crest[0] + (low[-1] - low[0]))
                dv = _unit(lu - cu)
                Rp = _ortho(du, dv)
                lu_len = np.linalg.norm(crest[-1] - crest[0]) / nu * 0.75
                lv_len = np.linalg.norm(lu - cu) / nv * 0.75
                b.bone(b.E(p, [lu_len, lv_len, 7.5 * sb], Rp), up * 0.9, 'ilium')
        # acetabulum, ischium, pubic rami
        ac = np.array([sgn * hx, yh, zh])
        rh = 23 * sb
        opening = _unit([sgn * 0.75, 0.35, 0.55])
        b.bone(b.E(ac, [rh + 10 * sb] * 3, clip=(opening, ac - opening * 4), inner=[rh + 2] * 3), up * 1.0, 'acet')
        isch_t = np.array([sgn * (hx - 28 * sb), yh - 22 * sH, zh + 48 * sH])
        b.bone(b.C(ac + [0, -12 * sH, 18 * sH], isch_t, 11 * sb, 10 * sb), up * 0.9, 'isch')
        sym_top = np.array([sgn * 9 * sb, yh + 58 * sH, zh + 12 * sH])
        sym_bot = np.array([sgn * 10 * sb, yh + 50 * sH, zh + 44 * sH])
        b.bone(b.C(ac + [-sgn * 12 * sb, 22 * sH, 4 * sH], sym_top, 9 * sb, 8 * sb), up * 0.85, 'pubis')
        b.bone(b.C(sym_bot, isch_t, 7 * sb, 8 * sb), up * 0.8, 'pubis')
        b.bone(b.E((sym_top + sym_bot) / 2, [7 * sb, 9 * sb, 17 * sH]), up * 0.8, 'pubis')
        P.setdefault('sym', (0.0, yh + 55 * sH, zh + 28 * sH))

    # ------------------------------------------------------------------ rib cage
    zts = {i: vert['T%d' % i]['z'] for i in range(1, 13)}
    aw = np.array([60, 84, 100, 112, 120, 126, 130, 132, 131, 127, 118, 104]) * sb * (1 + 0.002 * (P['bmi'] - 25))
    bd = np.array([38, 52, 64, 74, 81, 86, 89, 91, 92, 92, 88, 82]) * sH * sf
    xend = np.array([30, 38, 46, 54, 62, 72, 84, 100, 110, 118, 0, 0]) * sb
    drop = np.array([24, 44, 62, 76, 86, 92, 95, 94, 88, 78, 46, 26]) * sH
    rr = np.array([6.5, 5.6, 5.4, 5.4, 5.4, 5.4, 5.4, 5.4, 5.2, 5.0, 4.4, 4.2]) * math.sqrt(sb)
    ribs = {}
    yrib_back = back + 12 * sH
    for sgn, region in ((1, 'ribs_left'), (-1, 'ribs_right')):
        for i in range(12):
            v = vert['T%d' % (i + 1)]
            a, bb = aw[i] * rng.uniform(0.97, 1.03), bd[i] * rng.uniform(0.96, 1.04)   # ribs are not identical
            dr = drop[i] * rng.uniform(0.88, 1.12)
            yc = yrib_back + bb
            x0 = v['w'] / 2 + 34 * sb
            th0 = -math.acos(min(0.98, x0 / a))
            if i < 10:
                th1 = math.acos(min(0.98, xend[i] / a))
            elif i == 10:
                th1 = -0.05
            else:
                th1 = -0.55
            ths = np.linspace(th0, th1, 9)
            pts = [v['c'] + np.array([sgn * (v['w'] / 2 + 2), -v['d'] * 0.25, 0]),
                   v['c'] + np.array([sgn * (v['w'] / 2 + 20 * sb), -v['d'] / 2 - 14 * sH, 3 * sH])]
            for t in ths:
                if th1 > 0:     # posterior arc: gentle descent; anterior arc: steeper, medially downwards
                    g = 0.5 * min(1.0, (t - th0) / -th0) ** 1.1 + 0.5 * max(0.0, t / th1) ** 1.3
                else:
                    g = (t - th0) / (th1 - th0)
                pts.append([sgn * a * math.cos(t), yc + bb * math.sin(t), v['z'] + 4 * sH + dr * g])
            b.group('rib%d_%s' % (i + 1, 'L' if sgn > 0 else 'R'), region, dmu=0.004)
            b.chain(pts, rr[i], rr[i] * 0.95, U[region] * (1.15 if i == 0 else 1.0), 'rib')
            ribs[(sgn, i + 1)] = np.array(pts)
    P['ribs'] = ribs
    P['cage'] = (aw, bd, yrib_back)

    # ------------------------------------------------------------------ sternum
    zn = lm['notch']
    # the sternum lies just under the skin (10-15 mm plus a share of the fat), in front of the cage if need be
    y_st_top = max(yrib_back + bd[1] * 2 - 4 * sH, P['front'](zn + 20 * sH, 0.0) - 14 * sH - 0.3 * fat)
    y_st_bot = max(yrib_back + bd[6] * 2 + 4 * sH, P['front'](zn + 140 * sH, 0.0) - 14 * sH - 0.4 * fat)
    b.group('sternum', 'sternum', dmu=0.005)
    lman, lbody = 48 * sH, 92 * sH
    b.bone(b.E([0, y_st_top - 6, zn + lman / 2], [24 * sb, 7 * sb, lman / 2]), U['sternum'] * 1.05, 'man')
    p_top = np.array([0, y_st_top - 5, zn + lman + 2])
    p_bot = np.array([0, y_st_bot - 6, zn + lman + lbody])
    b.bone(b.Ed((p_top + p_bot) / 2, p_bot - p_top, [lbody / 2, 15 * sb, 6 * sb], ref=(1, 0, 0)),
           U['sternum'], 'stb')
    b.bone(b.C(p_bot, p_bot + [0, 6, 26 * sH], 4 * sb, 3 * sb), 0.7 * U['sternum'])
    P['sternum'] = (p_top, p_bot, zn)

    # ------------------------------------------------------------------ shoulders: clavicles, scapulae
    biac = (0.227 if sex == 'M' else 0.218) * H * (1 - 0.04 * child)
    zacr = lm['acr']
    ysh = back + 66 * sH + 0.15 * fat
    shoulder = {}
    for sgn, side in ((1, 'left'), (-1, 'right')):
        S = np.array([sgn * (biac / 2 - 22 * sb), ysh, zacr + 26 * sH])
        shoulder[sgn] = S
        b.group('clavicle_' + side, 'clavicle_' + side, dmu=0.006)
        sc = np.array([sgn * 22 * sb, y_st_top - 2, zn - 2])
        ac = np.array([sgn * (biac / 2 - 10 * sb), ysh + 12 * sH, zacr + 2])
        pts = [sc, sc + (ac - sc) * 0.3 + [0, 14 * sH, -6 * sH], sc + (ac - sc) * 0.65 + [0, 6 * sH, -8 * sH],
               sc + (ac - sc) * 0.88 + [0, -6 * sH, -2], ac]
        b.chain(pts, 7 * sb, 5 * sb, U['clavicle_' + side], 'clav')
        # scapula
        b.group('scapula_' + side, 'scapula_' + side, dmu=0.004)
        sup = np.array([sgn * 62 * sb, back + 26 * sH, zts[2] - 4 * sH])
        inf = np.array([sgn * 88 * sb, back + 24 * sH, zts[7] + 8 * sH])
        glen = np.array([sgn * (biac / 2 - 40 * sb), ysh - 6 * sH, zacr + 30 * sH])
        neck = glen - np.array([sgn * 16 * sb, 8 * sH, -4 * sH])
        us = U['scapula_' + side]
        for (t1, t2) in ((0.2, 0.2), (0.5, 0.2), (0.2, 0.5), (0.45, 0.45), (0.7, 0.15), (0.15, 0.7), (0.33, 0.33)):
            p = sup + (inf - sup) * t1 + (neck - sup) * t2
            Rp = _ortho(inf - sup, neck - sup)
            b.bone(b.E(p, [np.linalg.norm(inf - sup) * 0.22, np.linalg.norm(neck - sup) * 0.22, 3.2 * sb], Rp),
                   us * 0.8, 'scap')
        b.bone(b.C(neck, inf, 6.5 * sb, 5 * sb), us, 'scap')
        b.bone(b.C(sup, inf, 4 * sb), us * 0.8, 'scap')
        spine0 = sup + (inf - sup) * 0.15 + [sgn * 4, -2, 0]
        acrom = np.array([sgn * (biac / 2 - 4 * sb), ysh + 2 * sH, zacr - 2])
        b.bone(b.C(spine0, acrom, 5 * sb, 6 * sb), us * 0.75, 'scap')
        b.bone(b.Ed(acrom, [sgn, 0.3, 0], [14 * sb, 10 * sb, 5 * sb]), us * 1.1, 'acrom')
        b.bone(b.C(neck + [0, 12 * sH, -6 * sH], neck + [sgn * 8 * sb, 40 * sH, -10 * sH], 6 * sb, 5.5 * sb),
               us, 'cor')
        b.bone(b.E(glen, [7 * sb, 14 * sb, 17 * sb]), us * 1.1, 'glen')
    P['shoulder'] = shoulder
    P['biac'] = biac
    P['ysh'] = ysh
    return vert


def _limbs(P, rng, b, torso_hw):
    """Arms, hands, legs and feet, with their soft tissue (patient frame)."""
    H, lm, fat, sex = P['H'], P['lm'], P['fat'], P['sex']
    sH = H / 1750.0
    sf = 1.0 if sex == 'M' else 0.93
    sb = sH * sf
    U = P['uptake']
    child = P['child']
    phys = P['physis']
    fl = 0.8 * fat                                # limb fat (mm)
    # ------------------------------------------------------------------ arms
    L_hum = 0.194 * H * (1 - 0.05 * child)
    L_for = 0.146 * H * (1 - 0.05 * child)
    L_hand = 0.108 * H
    hands = {}
    for sgn, side in ((1, 'left'), (-1, 'right')):
        S = P['shoulder'][sgn]
        pose = P['arm_pose'][side]
        r_up = 40 * sH + 0.9 * fl
        r_fo = 32 * sH + 0.7 * fl
        gap = P['arm_gap'][side]
        zE = S[2] + L_hum * 0.985
        xE = sgn * (torso_hw(zE) + r_up * 0.8 + gap)
        yE = max(r_up * 0.85, P['ysh'] - 25 * sH)
        E = np.array([xE, yE, zE])
        E = S + _unit(E - S) * L_hum
        if pose == 'side':
            zW = E[2] + L_for * 0.99
            W = np.array([sgn * (torso_hw(zW) + r_fo * 0.6 + gap + 10 * sH), r_fo * 0.8 + 5, zW])
            fdir = _unit(W - E) * 0.9 + np.array([sgn * rng.uniform(-0.15, 0.1), -0.05, 0.1])
            palm = np.array([sgn * 1.0, 0.0, 0.0]) if rng.random() < 0.6 else np.array([0, -1.0, 0.0])
        elif pose == 'thigh':
            zW = E[2] + L_for * 0.95
            W = np.array([sgn * (P['hip'][0] + 45 * sH + gap * 0.3), P['thigh_front'] + 12, zW])
            fdir = np.array([-sgn * 0.25, -0.25, 1.0])
            palm = np.array([0, -1.0, 0])
        else:  # abdomen
            E = np.array([sgn * (torso_hw(S[2] + L_hum * 0.9) + r_up * 0.7 + gap), max(r_up, P['ysh'] - 10),
                          S[2] + L_hum * 0.9])
            E = S + _unit(E - S) * L_hum
            zW = E[2] + rng.uniform(0.25, 0.55) * L_for
            xW = sgn * rng.uniform(30, 90) * sH
            W = np.array([xW, P['front'](zW, xW) + 22 * sH, zW])
            W = E + _unit(W - E) * L_for
            fdir = np.array([-sgn * 1.0, 0.1, rng.uniform(0.1, 0.6)])
            palm = np.array([0, -1.0, 0])
        fdir = _unit(fdir)
        palm = _unit(palm - palm.dot(fdir) * fdir)
        thumb = _unit(np.cross(palm, fdir)) * (1 if sgn > 0 else -1)
        if pose == 'side' and palm[1] == 0:
            thumb = np.array([0, 1.0, 0])
        # soft tissue
        a_up = _unit(E - S)
        b.soft.append((b.C(S + a_up * 0.45 * r_up + [sgn * 6, 0, 0], E, r_up * 0.95, r_up * 0.85), P['c_limb'],
                       'union'))
        b.soft.append((b.E(S + [sgn * 8, 0, 6], [0.6 * r_up, 0.9 * r_up, 0.75 * r_up]), P['c_limb'], 'union'))
        b.soft.append((b.C(E, W, r_fo, r_fo * 0.72), P['c_limb'], 'union'))
        hc = W + fdir * 0.45 * L_hand
        b.soft.append((b.E(hc, [0.5 * L_hand, 45 * sH, 16 * sH + 0.2 * fl], _ortho(fdir, thumb)),
                       0.85 * P['c_limb'], 'union'))
        hands[sgn] = (W, E)
        P.setdefault('arm_geo', {})[side] = (S, E, W, fdir, thumb, palm)
        # humerus
        b.group('humerus_' + side, 'humerus_' + side, dmu=0.007)
        uh = U['humerus_' + side]
        au = _unit(E - S)
        b.bone(b.E(S, [22 * sb] * 3), uh * 1.15, 'prox')
        b.bone(b.E(S + au * 8 + np.array([sgn * 14 * sb, 6, 0]), [9 * sb, 9 * sb, 13 * sb]), uh * 1.1, 'prox')
        b.bone(b.C(S + au * 26 * sH, S + au * 0.35 * L_hum, 12 * sb, 11 * sb), uh, 'prox')
        b.bone(b.C(S + au * 0.35 * L_hum, E - au * 24 * sH, 11 * sb, 10.5 * sb), uh, 'shaft')
        epi = _unit(np.cross(au, [0, 1, 0])) * sgn
        b.bone(b.E(E - au * 10 * sH, [28 * sb, 12 * sb, 11 * sb], _ortho(epi, [0, 1, 0])), uh * 1.0, 'dist')
        phys.append(('humerus_' + side, S + au * 24 * sH, au, 24 * sb))
        # forearm
        b.group('forearm_' + side, 'forearm_' + side, dmu=0.007)
        ufa = U['forearm_' + side]
        af = _unit(W - E)
        lat_e = epi * 1.0
        b.bone(b.C(E + lat_e * 12 * sb + af * 12 * sH, W + thumb * 12 * sb - af * 4, 7 * sb, 9.5 * sb), ufa, 'rad')
        b.bone(b.C(E - lat_e * 10 * sb - af * 6 * sH, W - thumb * 11 * sb - af * 8, 9.5 * sb, 6 * sb), ufa, 'uln')
        phys.append(('forearm_' + side, W - af * 14 * sH, af, 18 * sb))
        # hand
        b.group('hand_' + side, 'hand_' + side, dmu=0.005)
        uhd = U['hand_' + side]
        b.bone(b.E(W + fdir * 17 * sH, [15 * sH, 22 * sb, 9 * sb], _ortho(fdir, thumb)), uhd * 1.3, 'carp')
        curl = rng.uniform(0.05, 0.5)
        for k, (off, lm_, lp) in enumerate(((9, 64, 40), (0, 62, 44), (-9, 57, 41), (-17, 52, 33))):
            base = W + fdir * 32 * sH + thumb * off * sb
            d1 = _unit(fdir + thumb * off * 0.006)
            tip = base + d1 * lm_ * sH
            b.bone(b.C(base, tip, 4.6 * sb, 4.0 * sb), uhd, 'mc')
            d2 = _unit(d1 - palm * curl)
            p2 = tip + d2 * lp * sH
            b.bone(b.C(tip, p2, 4.0 * sb, 3.6 * sb), uhd, 'ph')
            d3 = _unit(d2 - palm * curl * 1.5)
            p3 = p2 + d3 * lp * 0.62 * sH
            b.bone(b.C(p2, p3, 3.5 * sb, 3.0 * sb), uhd, 'ph')
            b.bone(b.C(p3, p3 + _unit(d3 - palm * curl) * lp * 0.45 * sH, 3.0 * sb, 2.4 * sb), uhd, 'ph')
        tb = W + fdir * 22 * sH + thumb * 16 * sb
        td = _unit(fdir * 0.7 + thumb * 0.8 - palm * 0.3)
        b.bone(b.C(tb, tb + td * 44 * sH, 5 * sb, 4.2 * sb), uhd, 'mc1')
        b.bone(b.C(tb + td * 44 * sH, tb + td * 76 * sH + fdir * 6, 4.0 * sb, 3.2 * sb), uhd, 'ph')
        P.setdefault('thumb_base', {})[side] = tb

    # ------------------------------------------------------------------ legs
    hx, yh, zh = P['hip']
    L_fem = (lm['knee'] - lm['hip']) * 1.0
    L_tib = (lm['ankle'] - lm['knee']) * 1.0
    for sgn, side in ((1, 'left'), (-1, 'right')):
        leg = P['leg'][side]
        Hc = np.array([sgn * hx, yh, zh])
        ax_ = sgn * leg['ankle_x']
        kx = sgn * (0.45 * hx + 0.55 * abs(ax_) + 8 * sH)
        r_th = 62 * sH + 1.1 * fl
        r_kn = 46 * sH + 0.5 * fl
        r_ca = 44 * sH + 0.55 * fl
        r_an = 28 * sH + 0.15 * fl
        ky = r_kn * 0.95 + leg['knee_lift']
        dxy = math.hypot(kx - Hc[0], ky - Hc[1])
        K = np.array([kx, ky, zh + math.sqrt(max(L_fem ** 2 - dxy ** 2, 1.0))])
        ay = 52 * sH + 0.1 * fl
        dxy = math.hypot(ax_ - kx, ay - ky)
        A = np.array([ax_, ay, K[2] + math.sqrt(max(L_tib ** 2 - dxy ** 2, 1.0))])
        er = leg['ext_rot']
        pf = leg['plantar']
        P.setdefault('leg_geo', {})[side] = (Hc, K, A)
        # soft tissue
        top = Hc + np.array([sgn * 12 * sH, 0.0, -25 * sH])
        top[1] = max(top[1], r_th * 0.95)
        b.soft.append((b.C(top, K, r_th, r_kn), P['c_limb'], 'union'))
        calf = K + (A - K) * 0.3
        b.soft.append((b.C(K, calf, r_kn, r_ca), P['c_limb'], 'union'))
        b.soft.append((b.C(calf, A, r_ca, r_an), P['c_limb'], 'union'))
        fdir = np.array([sgn * math.sin(er) * math.cos(pf), math.cos(er) * math.cos(pf), math.sin(pf)])
        dors = np.array([-sgn * math.sin(er) * math.sin(pf), -math.cos(er) * math.sin(pf) * -1, -math.cos(pf)])
        dors = _unit(dors - dors.dot(fdir) * fdir)
        if dors[1] < 0 and pf < 1.2:
            dors = -dors
        latf = _unit(np.cross(fdir, dors))
        if latf[0] * sgn < 0:
            latf = -latf
        L_foot = 0.152 * H
        fc = A + fdir * 0.32 * L_foot - dors * 18 * sH
        b.soft.append((b.E(fc, [0.58 * L_foot, 42 * sH, 30 * sH + 0.1 * fl], _ortho(fdir, latf)),
                       0.8 * P['c_limb'], 'union'))
        # femur
        b.group('femur_' + side, 'femur_' + side, dmu=0.008)
        uf = U['femur_' + side]
        af = _unit(K - Hc)
        rh = 23 * sb
        b.bone(b.E(Hc, [rh] * 3), uf * 1.15, 'prox')
        gt = Hc + np.array([sgn * 52 * sb, -6 * sH, 8 * sH])
        b.bone(b.E(gt, [15 * sb, 18 * sb, 26 * sb]), uf * 1.25, 'prox')
        neck_end = Hc + np.array([sgn * 40 * sb, -4 * sH, 28 * sH])
        b.bone(b.C(Hc + _unit(neck_end - Hc) * 14 * sH, neck_end, 15 * sb, 16 * sb), uf, 'prox')
        lt = Hc + np.array([sgn * 22 * sb, -10 * sH, 52 * sH])
        b.bone(b.E(lt, [9 * sb, 8 * sb, 11 * sb]), uf, 'prox')
        sh0 = Hc + np.array([sgn * 44 * sb, -5 * sH, 40 * sH])
        b.bone(b.C(sh0, sh0 + (K - sh0) * 0.3, 14 * sb, 13.5 * sb), uf, 'prox')
        b.bone(b.C(sh0 + (K - sh0) * 0.3, K - af * 42 * sH, 13.5 * sb, 15 * sb), uf, 'shaft')
        latk = _unit(np.cross(af, [0, 1, 0])) * -sgn
        latk = _rot(af, sgn * er * 0.5) @ latk
        b.bone(b.E(K - af * 31 * sH + [0, -3, 0], [34 * sb, 26 * sb, 30 * sb], _ortho(latk, [0, 1, 0])),
               uf * 0.85, 'dist')
        patella_dir = _rot(af, -sgn * er * 0.5) @ np.array([0, 1.0, 0])
        b.bone(b.Ed(K - af * 22 * sH + patella_dir * 36 * sH, af, [20 * sb, 19 * sb, 9 * sb], ref=latk),
               uf * 1.0, 'pat')
        phys.append(('femur_' + side, K - af * 30 * sH, af, 34 * sb))
        phys.append(('femur_' + side, Hc + _unit(neck_end - Hc) * 12 * sH, _unit(neck_end - Hc), 18 * sb))
        # tibia / fibula
        b.group('tibfib_' + side, 'tibia_fibula_' + side, dmu=0.008)
        ut = U['tibia_fibula_' + side]
        at = _unit(A - K)
        b.bone(b.E(K + at * 19 * sH, [36 * sb, 25 * sb, 15 * sb], _ortho(latk, [0, 1, 0])), ut * 0.85, 'prox')
        b.bone(b.C(K + at * 34 * sH + [0, 6, 0], K + at * 0.5 * L_tib, 14 * sb, 11.5 * sb), ut, 'shaft')
        b.bone(b.C(K + at * 0.5 * L_tib, A - at * 28 * sH, 11.5 * sb, 12.5 * sb), ut, 'shaft')
        b.bone(b.E(A - at * 16 * sH, [17 * sb, 16 * sb, 13 * sb]), ut * 0.75, 'dist')
        b.bone(b.E(A - latk * 17 * sb + at * 2, [6 * sb, 8 * sb, 10 * sb]), ut * 0.75, 'dist')
        fh = K + at * 34 * sH + latk * 32 * sb - np.array([0, 10 * sH, 0]) + patella_dir * -8
        flm = A + latk * 24 * sb - np.array([0, 6 * sH, 0]) + at * 8
        b.bone(b.E(fh, [9 * sb] * 3), ut * 0.9, 'prox')
        b.bone(b.C(fh, flm, 6.5 * sb, 6 * sb), ut * 0.8, 'fib')
        b.bone(b.E(flm, [6 * sb, 8 * sb, 12 * sb]), ut * 0.9, 'dist')
        phys.append(('tibfib_' + side, K + at * 32 * sH, at, 32 * sb))
        # foot
        b.group('foot_' + side, 'foot_' + side, dmu=0.006)
        ufo = U['foot_' + side]
        Rf = _ortho(fdir, latf)
        b.bone(b.E(A + fdir * 6 - dors * 8, [22 * sH, 16 * sb, 12 * sb], Rf), ufo * 0.75, 'tars')
        b.bone(b.E(A - fdir * 26 * sH - dors * 30 * sH, [32 * sH, 13 * sb, 16 * sb], Rf), ufo * 0.6, 'calc')
        b.bone(b.E(A + fdir * 46 * sH - dors * 12 * sH, [16 * sH, 27 * sb, 11 * sb], Rf), ufo * 0.9, 'tars')
        for k in range(5):
            off = (k - 1.6) * 11 * sb
            base = A + fdir * 62 * sH + latf * off - dors * (12 + 3 * k) * sH
            ln_ = (68 - 6 * abs(k - 1)) * sH
            r = (8.5 if k == 0 else 5.0) * sb
            d1 = _unit(fdir + latf * off * 0.004)
            tip = base + d1 * ln_
            b.bone(b.C(base, tip, r, r * 0.85), ufo, 'mt')
            b.bone(b.C(tip, tip + d1 * (34 if k == 0 else 24) * sH, r * 0.8, r * 0.6), ufo * 0.9, 'toe')
        P.setdefault('foot_geo', {})[side] = (A, fdir, latf, dors)


# ====================================================================== soft tissue
class _Torso:
    """Trunk as rows of superelliptic cross-sections (flatter at the back), in the camera frame."""

    def __init__(self, zc, xc, ym, hw, bb, bf, tan_roll, nb=3.2, nf=2.2):
        self.zc, self.xc, self.ym, self.hw, self.bb, self.bf = zc, xc, ym, hw, bb, bf
        self.tr, self.nb, self.nf = tan_roll, nb, nf

    def bbox(self):
        lo = np.array([np.min(self.xc - self.hw), 0.0 + min(0, np.min(self.ym - self.bb)) - 40, self.zc[0]])
        hi = np.array([np.max(self.xc + self.hw), np.max(self.ym + self.bf) + 40, self.zc[-1]])
        return lo, hi

    def pieces(self, X, Z):
        z = Z[:, 0]
        xc = np.interp(z, self.zc, self.xc)[:, None]
        ym = np.interp(z, self.zc, self.ym)[:, None]
        hw = np.interp(z, self.zc, self.hw)[:, None]
        bb = np.interp(z, self.zc, self.bb)[:, None]
        bf = np.interp(z, self.zc, self.bf)[:, None]
        inside_z = ((z >= self.zc[0]) & (z <= self.zc[-1]))[:, None]
        r = np.abs(X - xc) / np.maximum(hw, 1e-3)
        ok = (r < 1) & inside_z
        rc = np.minimum(r, 1)
        hb = bb * (1 - rc ** self.nb) ** (1 / self.nb)
        hf = bf * (1 - rc ** self.nf) ** (1 / self.nf)
        yc = ym + (X - xc) * self.tr
        lo = np.where(ok, yc - hb, _EMPTY_LO)
        hi = np.where(ok, yc + hf, _EMPTY_HI)
        return [(lo, hi)]


def _torso_profile(P):
    """Lean adult-male trunk profile (fractions of H) widened for sex, fat and abdominal obesity."""
    H, fat, sex = P['H'], P['fat'], P['sex']
    sH = H / 1750.0
    lm = P['lm']
    f = P['child']
    # z points tied to landmarks
    z = np.array([lm['c7'] + 0.012 * H, lm['acr'] - 0.005 * H, lm['acr'] + 0.03 * H, lm['notch'] + 0.07 * H,
                  lm['t12'] - 0.02 * H, (lm['t12'] + lm['crest']) / 2, lm['crest'], lm['hip'] - 0.01 * H,
                  lm['crotch'] - 0.005 * H, lm['crotch'] + 0.018 * H, lm['crotch'] + 0.03 * H])
    hw = np.array([58, 150, 168, 160, 150, 138, 148, 168, 150, 75, 30]) * sH
    D = np.array([112, 145, 180, 218, 212, 190, 192, 200, 170, 110, 70]) * sH
    if sex == 'F':
        hw *= np.array([0.95, 0.93, 0.93, 0.93, 0.94, 0.97, 1.04, 1.08, 1.07, 1.0, 1.0])
        D *= 0.95
    if f > 0:
        hw *= 1 - 0.12 * f
    obese = max(0.0, P['bmi'] - 25)
    abdo = (1.6 if sex == 'M' else 1.1)
    hw = hw + fat * np.array([0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.3, 1.25, 1.0, 0.5, 0.2])
    D = D + fat * np.array([0.4, 0.6, 1.0, 1.3, 1.6, 1.6, 1.4, 1.3, 1.0, 0.5, 0.2])
    D = D + obese * np.array([0, 0, 0.5, 1.0, 2.0, 3.0, 2.5, 1.0, 0.5, 0, 0]) * abdo * sH
    return z, hw, D


# ====================================================================== the case generator
def _draw_uptakes(P, rng):
    age = P['age']
    g = lambda s=0.12: float(np.exp(rng.normal(0, s)))  # noqa: E731
    U = {}
    U['skull'] = float(np.clip(np.exp(rng.normal(math.log(0.27 if P['sex'] == 'M' else 0.33), 0.25)), 0.15, 0.8))
    U['mandible'] = 0.4 * g()
    U['cervical_spine'] = 0.75 * g()
    U['thoracic_spine'] = 1.0 * g(0.08)
    U['lumbar_spine'] = 1.05 * g(0.08)
    U['sacrum'] = 1.05 * g()
    U['post_el'] = float(np.clip(1.0 + 0.01 * max(0, age - 50) * rng.uniform(0, 1.5), 1.0, 1.6))
    rib = 0.56 * g()
    U['ribs_left'] = rib * g(0.04)
    U['ribs_right'] = rib * g(0.04)
    U['sternum'] = 1.2 * g()
    cl = 0.5 * g()
    U['clavicle_left'] = cl * g(0.05)
    U['clavicle_right'] = cl * g(0.05)
    sc = 0.75 * g()
    U['scapula_left'] = sc * g(0.05)
    U['scapula_right'] = sc * g(0.05)
    U['pelvis'] = 1.0 * g()
    dom = 1 if rng.random() < 0.88 else -1       # right handed mostly
    hand_boost = 1.0 + rng.uniform(0.0, 0.15)
    for side, sgn in (('left', 1), ('right', -1)):
        boost = hand_boost if sgn == -dom else 1.0
        U['humerus_' + side] = 0.45 * g(0.08) * boost
        U['forearm_' + side] = 0.42 * g(0.08) * boost
        U['hand_' + side] = 0.6 * g(0.15) * boost
        U['femur_' + side] = 0.5 * g(0.08)
        U['tibia_fibula_' + side] = 0.55 * g(0.08)
        U['foot_' + side] = 0.6 * g(0.15)
    return U


# ====================================================================== per-patient draws (pose, camera, framing)
def _draw_setup(P, rng):
    H = P['H']
    P['pillow'] = rng.uniform(25, 70)
    P['uptake'] = _draw_uptakes(P, rng)
    pose_u = rng.random()
    base_pose = 'side' if pose_u < 0.55 else ('abdomen' if pose_u < 0.8 else 'thigh')
    poses = {}
    for side in ('left', 'right'):
        poses[side] = base_pose if rng.random() < 0.85 else str(rng.choice(['side', 'abdomen', 'thigh']))
    P['arm_pose'] = poses
    P['arm_gap'] = {s: rng.uniform(-12, 35) for s in ('left', 'right')}
    apart = rng.uniform(30, 150) * H / 1750
    P['leg'] = {}
    flex = rng.random() < 0.3
    for side in ('left', 'right'):
        P['leg'][side] = dict(ankle_x=max(20.0, apart + rng.normal(0, 8)),
                              knee_lift=rng.uniform(40, 110) if flex else rng.uniform(0, 12),
                              ext_rot=math.radians(rng.uniform(0, 40) if rng.random() < 0.85 else rng.uniform(-15, 0)),
                              plantar=math.radians(rng.uniform(25, 60)))
    P['yaw'] = math.radians(rng.normal(0, 1.3))
    P['roll'] = math.radians(rng.normal(0, 3.0))
    P['head_pitch'] = math.radians(rng.uniform(-5, 20))
    P['head_yaw'] = math.radians(rng.normal(0, 6))
    P['x_off'] = rng.normal(0, 15)
    # physiology (relative concentrations; soft tissue (muscle / extracellular) = 1)
    # bone-to-soft-tissue concentration: lower with age (renal clearance, bone turnover), wide spread
    c_med = 20.0 if P['age'] <= 25 else 16.0 * (1 - 0.006 * max(0.0, P['age'] - 55))
    P['c_bone'] = float(np.exp(rng.normal(math.log(c_med), 0.33)))
    P['c_fat'] = rng.uniform(0.3, 0.55)
    P['c_limb'] = rng.uniform(0.9, 1.3)
    P['c_lung'] = rng.uniform(0.2, 0.35)
    P['c_heart'] = rng.uniform(1.4, 2.4)
    P['c_kidney'] = float(np.exp(rng.normal(math.log(3.5), 0.4)))
    P['bladder_frac'] = float(np.exp(rng.uniform(math.log(0.004), math.log(0.15))))   # of skeletal activity
    P['bladder_ml'] = float(np.exp(rng.uniform(math.log(40), math.log(600))))
    # camera
    col = COLLIMATORS[int(rng.integers(len(COLLIMATORS)))]
    P['coll'] = col
    P['contour'] = rng.random() < 0.6
    P['ant_gap'] = rng.uniform(10, 40) if P['contour'] else rng.uniform(20, 60)
    P['post_gap'] = rng.uniform(25, 55)          # table + mattress + air below the patient's back
    P['table_att'] = rng.uniform(0.04, 0.10)     # line integral of mu through the carbon-fibre table
    P['scan_blur'] = rng.uniform(0.8, 2.5)       # mm (sigma), continuous table motion along the rows
    P['spr'] = rng.uniform(0.28, 0.45)           # scatter-to-primary ratio through 20 cm of water
    P['ufov'] = rng.uniform(500, 545)
    P['bg'] = rng.uniform(0.04, 0.35)            # room / detector background, counts per (2.26 mm)^2 pixel
    u = rng.random()
    P['p256'] = 2.26 if u < 0.3 else (2.4 if u < 0.45 else rng.uniform(2.0, 2.8))
    P['counts'] = float(np.clip(np.exp(rng.normal(math.log(1.8e6), 0.55)), 0.5e6, 5.0e6))
    u = rng.random()
    P['partial'] = None if u < 0.88 else ('thigh' if u < 0.94 else 'calf')
    P['m_top'] = rng.uniform(15, 110)
    P['m_bot'] = rng.uniform(20, 140)
    P['start_frac'] = rng.uniform(0, 0.35) if rng.random() < 0.5 else 0.0


def _grid_params(rows, cols, spacing):
    """Internal grid: an integer sub- (or super-) sampling of the output pixels, about 2-3 mm (<= 2x finer)."""
    if spacing > 3.2:
        fd, fu = min(2, int(round(spacing / 2.4))), 1
    elif spacing < 1.6:
        fd, fu = 1, int(round(2.4 / spacing))
    else:
        fd, fu = 1, 1
    pi = spacing / fd * fu
    nzi = rows * fd // fu
    nxi = cols * fd // fu
    return fd, fu, pi, nzi, nxi


class _Grid:
    def __init__(self, nz, nx, p, y0, ny):
        self.nz, self.nx, self.p = nz, nx, p
        self.x0 = -nx * p / 2
        self.xc = self.x0 + (np.arange(nx) + 0.5) * p
        self.zc = (np.arange(nz) + 0.5) * p
        self.y0, self.ny = y0, ny
        self.yc = y0 + (np.arange(ny) + 0.5) * DY

    def cols(self, lo, hi):
        xi0 = max(0, int(math.floor((lo[0] - self.x0) / self.p)))
        xi1 = min(self.nx, int(math.ceil((hi[0] - self.x0) / self.p)) + 1)
        zi0 = max(0, int(math.floor(lo[2] / self.p)))
        zi1 = min(self.nz, int(math.ceil(hi[2] / self.p)) + 1)
        return zi0, zi1, xi0, xi1


def _sweep(LO, HI):
    """Disjoint portions of the union of K intervals per column (K, ...): returns start, length (sorted order)."""
    order = np.argsort(LO, axis=0)
    LO = np.take_along_axis(LO, order, 0)
    HI = np.take_along_axis(HI, order, 0)
    run = np.full(LO.shape[1:], -np.inf)
    st = np.empty_like(LO)
    ln = np.empty_like(LO)
    for k in range(LO.shape[0]):
        s = np.maximum(LO[k], run)
        d = HI[k] - s
        st[k] = s
        ln[k] = np.where(d > 0, d, 0.0)
        run = np.maximum(run, HI[k])
    return order, st, ln


def _union_overlap(ivs, lo, hi):
    """Length of (union of intervals ivs) within [lo, hi] per column, and the mid of the covered span."""
    A = np.stack([np.maximum(a, lo) for a, _ in ivs])
    B = np.stack([np.minimum(b, hi) for _, b in ivs])
    ok = B > A
    A = np.where(ok, A, np.inf)
    B = np.where(ok, B, -np.inf)
    _, st, ln = _sweep(A, B)
    tot = ln.sum(axis=0)
    a_min = np.where(tot > 0, A.min(axis=0), 0.0)
    b_max = np.where(tot > 0, B.max(axis=0), 0.0)
    mid = 0.5 * (a_min + b_max)
    return tot, mid


class _Blob:
    def __init__(self, hosts, pieces, ratio, label, region, shape):
        self.hosts, self.pieces, self.ratio = hosts, pieces, ratio
        self.label, self.region, self.shape = label, region, shape


def _sph(c, r, R=None):
    return _Ell(c, [r, r, r] if np.isscalar(r) else r, R)


# ====================================================================== head and neck
def _head(P, rng, b):
    H, lm, sex = P['H'], P['lm'], P['sex']
    sH = H / 1750.0
    child = P['child']
    hs = (1.0 if sex == 'M' else 0.95) * (1 - 0.1 * child)
    hb, hl = 152 * hs, 196 * hs
    vh = 88 * hs
    yhd = P['pillow'] + hl / 2
    zsk = 6 + vh
    zchin = lm['chin']
    c1 = P['vert']['C1']
    piv = np.array([0.0, c1['y'] + 5, c1['z'] - 12])
    Rh = _rot([0, 0, 1], P['head_yaw']) @ _rot([1, 0, 0], P['head_pitch'])
    b.xf.local = (Rh, piv)
    us = P['uptake']['skull']
    t = (6.5 + 1.5 * (1 - child)) * math.sqrt(hs)
    b.group('skull', 'skull', dmu=0.010)
    # calvarium: a closed shell, upper half-ellipsoid (vertex) joined at the equator to a flatter lower one
    # (skull base), so that the ANT / POST outline is a ring without a cut edge
    outer = np.array([hb / 2 - 6, hl / 2 - 6, vh])
    hc = np.array([0, yhd, zsk])
    nz_ = np.array([0, 0, 1.0])
    vault = b.E(hc, outer, clip=(nz_, hc), inner=outer - t)
    b.bone(vault, us, 'vault')
    low = outer * [1, 1, 0.55]
    b.bone(b.E(hc, low, clip=(-nz_, hc), inner=low - [t, t, t * 0.8]), us * 0.9, 'base')
    P['head'] = dict(c=hc, hb=hb, hl=hl, vh=vh, zchin=zchin)
    fc = 0.75 * us ** 0.5
    # skull base (petrous ridges, clivus), face (maxilla, zygomas, nasal / ethmoid)
    for sgn in (-1, 1):
        b.bone(b.Ed(hc + [sgn * 0.22 * hb, -0.04 * hl, 0.40 * vh], [sgn, 0.6, 0], [26 * hs, 8 * hs, 8 * hs]),
               fc, 'base')
        b.bone(b.Ed(hc + [sgn * 0.32 * hb, 0.27 * hl, 0.55 * vh], [0, 1, 0], [16 * hs, 8 * hs, 10 * hs]), fc * 0.8,
               'zyg')
    b.bone(b.E(hc + [0, 0.05 * hl, 0.42 * vh], [16 * hs, 22 * hs, 9 * hs]), fc, 'base')
    b.bone(b.E(hc + [0, 0.33 * hl, 0.45 * vh], [8 * hs, 16 * hs, 20 * hs]), fc * 0.8, 'nasal')
    maxc = hc + [0, 0.32 * hl, 0.80 * vh]
    b.bone(b.E(maxc, [28 * hs, 14 * hs, 17 * hs], clip=None, inner=[20 * hs, 7 * hs, 10 * hs]), fc * 1.1, 'max')
    # mandible
    b.group('mandible', 'mandible', dmu=0.010)
    um = P['uptake']['mandible']
    zc = zchin - 8 * sH
    for sgn in (-1, 1):
        tmj = hc + [sgn * 0.33 * hb, 0.04 * hl, 0.56 * vh]
        ang = np.array([sgn * 0.31 * hb, yhd + 0.08 * hl, zc - 0.22 * (zc - tmj[2])])
        mid = np.array([sgn * 0.2 * hb, yhd + 0.33 * hl, zc - 4])
        b.bone(b.E(tmj, [6 * hs, 8 * hs, 5 * hs]), um, 'tmj')
        b.chain([tmj, ang], 5 * hs, 5.5 * hs, um * 0.9, 'ram')
        b.chain([ang, mid, np.array([0, yhd + 0.45 * hl, zc])], 6 * hs, 7 * hs, um, 'body')
    P['mandible_pts'] = (np.array([0, yhd + 0.45 * hl, zc]), maxc)
    # head soft tissue
    b.soft.append((b.E([0, yhd + 6, zchin / 2], [hb / 2, hl / 2 + 4, zchin / 2 + 4]), 0.75, 'union'))
    b.xf.local = None
    # neck
    t1 = P['vert']['T1']
    rn = 0.033 * H + 0.45 * P['fat']
    b.soft.append((b.C([0, max(rn, yhd - 10), zchin - 20 * sH], [0, max(rn, t1['y'] + 5), lm['c7'] + 20 * sH],
                       rn), 0.9, 'union'))


# ====================================================================== scene: soft tissue, organs, look-alikes
def _scene(P, rng, b, superscan):
    H, lm, fat = P['H'], P['lm'], P['fat']
    sH = H / 1750.0
    zt, hwt, Dt = _torso_profile(P)
    bbt, bft = 0.45 * Dt, 0.55 * Dt
    P['torso'] = (zt, hwt, bbt, bft)

    def torso_hw(z):
        return float(np.interp(z, zt, hwt, left=0.0, right=0.0))

    def front(z, x):
        hw = float(np.interp(z, zt, hwt))
        bb = float(np.interp(z, zt, bbt))
        bf = float(np.interp(z, zt, bft))
        r = min(abs(x) / hw, 0.999)
        return bb + bf * (1 - r ** 2.2) ** (1 / 2.2)

    P['front'] = front
    P['physis'] = []
    _anatomy(P, rng, b)
    _head(P, rng, b)
    r_th = 62 * sH + 1.1 * 0.8 * fat
    P['thigh_front'] = 2 * r_th * 0.95
    _limbs(P, rng, b, torso_hw)
    xf = b.xf
    # trunk (fat shell, then lean core) in the camera frame
    cen = xf.p(np.column_stack([np.zeros_like(zt), bbt, zt]))
    b.soft.append((_Torso(cen[:, 2], cen[:, 0], cen[:, 1], hwt, bbt, bft, xf.tan_roll), P['c_fat'], 'union'))
    Pl = dict(P)
    Pl['fat'] = 0.0
    Pl['bmi'] = min(P['bmi'], 24.0)
    zl, hwl, Dl = _torso_profile(Pl)
    fb = fat * 0.55
    Dl = np.minimum(Dl, Dt - fb - 4)
    hwl = np.minimum(hwl, hwt - 3)
    bbl, bfl = 0.45 * Dl, 0.55 * Dl
    cen = xf.p(np.column_stack([np.zeros_like(zl), fb + bbl, zl]))
    b.soft.append((_Torso(cen[:, 2], cen[:, 0], cen[:, 1], hwl, bbl, bfl, xf.tan_roll), 1.0, 'union'))
    # breasts (women), supine: flattened and falling laterally; mastectomy now and then
    aw, bd, yrb = P['cage']
    vert = P['vert']
    if P['sex'] == 'F' and P['age'] > 14:
        vol = float(np.clip(250 + 70 * (P['bmi'] - 21) + rng.normal(0, 150), 80, 2000)) * (
            min(1.0, (P['age'] - 12) / 6))
        r = (3 * vol * 1000 / (4 * math.pi)) ** (1 / 3)
        mast = rng.random() < 0.12
        for sgn in (-1, 1):
            if mast and sgn == (1 if rng.random() < 0.5 else -1):
                continue
            z = vert['T5']['z'] + 45 * sH
            x = sgn * (0.5 * aw[4] + 0.25 * r)
            y = front(z, x) + 0.1 * r
            R = _rot([0, 0, 1], sgn * math.radians(rng.uniform(15, 35)))
            b.soft.append((b.E([x, y, z], [1.3 * r, 0.55 * r, 1.05 * r], R), rng.uniform(0.55, 0.85), 'union'))
    # lungs and heart (replace soft tissue)
    ztop = vert['T1']['z'] - 10 * sH
    zbot = vert['T11']['z'] + 10 * sH
    zm = (ztop + zbot) / 2
    for sgn in (-1, 1):
        b.soft.append((b.E([sgn * 0.5 * aw[5], yrb + bd[5] * 0.95, zm + 10 * sH],
                           [0.42 * aw[5] * (0.9 if sgn > 0 else 1.0), 0.8 * bd[5], (zbot - ztop) / 2]),
                       P['c_lung'], 'lung'))
    b.soft.append((b.E([32 * sH, yrb + bd[6] * 1.25, vert['T8']['z']], [58 * sH, 46 * sH, 62 * sH],
                       _rot([0, 1, 0], 0.5)), P['c_heart'], 'over'))
    # kidneys, bladder, thyroid, stomach: projected as exact hot objects (excess over soft tissue)
    ck = P['c_kidney'] * (0.15 if superscan else 1.0)
    absent = rng.random() < 0.02
    for sgn in (-1, 1):
        if absent and sgn < 0:
            continue
        z = vert['L1']['z'] + (12 * sH if sgn < 0 else -6 * sH)
        kc = np.array([sgn * 72 * sH, vert['L1']['y'] - 6 * sH, z])
        Rk = _rot([0, 1, 0], -sgn * 0.25) @ _rot([0, 0, 1], sgn * 0.5)
        b.hot.append((b.E(kc, [27 * sH, 21 * sH, 52 * sH], Rk), ck * rng.uniform(0.8, 1.2)))
        if rng.random() < 0.05:
            b.hot.append((b.E(kc + [-sgn * 8, 4, 0], [rng.uniform(12, 22) * sH] * 3), rng.uniform(5, 30)))
    hx, yh, zh = P['hip']
    sym = P['sym']
    vol = P['bladder_ml'] * (0.4 if superscan else 1.0) * min(1.0, (H / 1650.0) ** 3)
    r = (3 * vol * 1000 / (4 * math.pi)) ** (1 / 3)
    bc = np.array([0, sym[1] - 12 - 0.25 * r, sym[2] - 16 * sH - 0.8 * r])
    skel_ml = 4500.0 * (H / 1750.0) ** 3                 # reference skeleton volume (bone + marrow)
    cu = P['bladder_frac'] * 0.8 * P['c_bone'] * skel_ml / vol * (0.3 if superscan else 1.0)
    b.hot.append((b.E(bc, [1.25 * r, 0.9 * r, 0.85 * r]), cu))
    P['bladder'] = (bc, r)
    if rng.random() < 0.12:
        for sgn in (-1, 1):
            b.hot.append((b.E([sgn * 17 * sH, vert['C6']['y'] + 36 * sH, vert['C6']['z'] + 10 * sH],
                              [9 * sH, 8 * sH, 22 * sH]), rng.uniform(1, 6)))
    if rng.random() < 0.04:
        b.hot.append((b.E([70 * sH, front(vert['T11']['z'], 70) - 60 * sH, vert['T11']['z']],
                          [55 * sH, 35 * sH, 70 * sH]), rng.uniform(0.8, 2.5)))
    cb = P['c_bone']
    # injection site (usually an antecubital or hand vein; sometimes extravasated with an axillary node)
    if rng.random() < 0.75:
        side = 'left' if rng.random() < 0.5 else 'right'
        S, E, W, fdir, thumb, palm = P['arm_geo'][side]
        u = rng.random()
        if u < 0.55:
            c = E + (W - E) * rng.uniform(0.0, 0.15) + palm * -10
        elif u < 0.8:
            c = E + (W - E) * rng.uniform(0.3, 0.8)
        else:
            c = W + fdir * rng.uniform(25, 60) * sH - palm * 12
        if rng.random() < 0.1:
            b.hot.append((b.E(c, rng.uniform(8, 25, size=3) * sH), cb * rng.uniform(1, 8)))
            if rng.random() < 0.35:
                sgn = 1 if side == 'left' else -1
                ax = np.array([sgn * (P['biac'] / 2 - 45 * sH), P['ysh'] - 5, lm['acr'] + 70 * sH])
                b.hot.append((b.E(ax, [8 * sH] * 3), cb * rng.uniform(0.5, 3)))
        else:
            b.hot.append((b.E(c, [rng.uniform(3, 6)] * 3), cb * float(np.exp(rng.uniform(math.log(2), math.log(40))))))
    # urine contamination on skin, clothes or the table
    if rng.random() < 0.12:
        for _ in range(int(rng.integers(1, 4))):
            x = rng.normal(0, 60) * sH
            z = zh + rng.uniform(0, 260) * sH
            if rng.random() < 0.6:
                y = front(min(z, zt[-1]), x) + 3 if z < zt[-1] else P['thigh_front'] + 3
            else:
                y = 2.0
            b.hot.append((b.E([x, y, z], [rng.uniform(4, 25), rng.uniform(4, 25), rng.uniform(1.5, 3)],
                              _rot([0, 1, 0], rng.uniform(0, 3))) if False else
                          b.E([x, y, z], [rng.uniform(4, 25), 2.5, rng.uniform(4, 25)],
                              _rot([0, 1, 0], rng.uniform(0, 3))), cb * rng.uniform(1, 25)))
    return torso_hw


def _gidx(b):
    return {g.name: i for i, g in enumerate(b.groups)}


def _benign(P, rng, b):
    """Hot spots that are not metastases (physiological, degenerative, traumatic): part of the base image."""
    gi = _gidx(b)
    age = P['age']
    child = P['child']
    H = P['H']
    sH = H / 1750.0
    out = []

    def add(names, pieces, ratio):
        out.append(_Blob([gi[n] for n in names if n in gi], pieces, ratio, False, None, 'benign'))

    xf = b.xf
    # sacroiliac joints
    for (x, y, z0, z1) in P['si']:
        p0, p1 = xf.p([x, y, z0]), xf.p([x * 1.08, y - 12 * sH, z1])
        c = (p0 + p1) / 2
        out.append(_Blob([gi['sacrum'], gi['pelvis']], [_Ell(c, [9 * sH, 14 * sH, np.linalg.norm(p1 - p0) / 2],
                                                            _ortho(p1 - p0, [1, 0, 0])[:, [1, 2, 0]])],
                         rng.uniform(1.15, 1.7), False, None, 'benign'))
    # manubriosternal junction, costochondral junctions
    p_top, p_bot, zn = P['sternum']
    add(['sternum'], [_sph(xf.p(p_top + [0, 0, 2]), 9 * sH)], rng.uniform(1.1, 1.6))
    cc = rng.uniform(1.6, 3.0) if age < 25 else (rng.uniform(1.1, 1.6) if rng.random() < 0.3 else 1.0)
    if cc > 1.0:
        for (sgn, i), pts in P['ribs'].items():
            if 2 <= i <= 9:
                add(['rib%d_%s' % (i, 'L' if sgn > 0 else 'R')], [_sph(xf.p(pts[-1]), 8 * sH)],
                    cc * rng.uniform(0.85, 1.15))
    # growth plates and apophyses in the young
    if age < 25:
        rphys = (rng.uniform(3.0, 6.0) if age < 16 else rng.uniform(1.3, 2.2) * (25 - age) / 9 + 1.0)
        for name, c, ax, r in P['physis']:
            if name in gi:
                R = _ortho(xf.m(np.asarray(ax, float)[:, None])[:, 0], [1, 0, 0])
                add([name], [_Ell(xf.p(c), [5.0 * (1 + child * 0.4), r, r], R)], rphys * rng.uniform(0.85, 1.15))
        for crest in P['crest']:
            for p in crest[2:]:
                add(['pelvis'], [_sph(xf.p(p), 10 * sH)], 1 + (rphys - 1) * 0.6)
    # degenerative change
    old = max(0.0, (age - 45) / 30)
    for side, sgn in (('left', 1), ('right', -1)):
        Hc, K, A = P['leg_geo'][side]
        if rng.random() < 0.1 + 0.5 * old:
            med = K + np.array([-sgn * 22 * sH, 0, 0])
            add(['femur_' + side, 'tibfib_' + side], [_sph(xf.p(med), rng.uniform(10, 18) * sH)],
                rng.uniform(1.3, 2.6))
            if rng.random() < 0.4:
                add(['femur_' + side], [_sph(xf.p(K + [0, 40 * sH, -20 * sH]), 14 * sH)], rng.uniform(1.3, 2.2))
        if rng.random() < 0.08 + 0.2 * old:
            add(['pelvis', 'femur_' + side], [_sph(xf.p(Hc + [sgn * 8, 0, -22 * sH]), 15 * sH)],
                rng.uniform(1.3, 2.0))
        S, E, W, fdir, thumb, palm = P['arm_geo'][side]
        if rng.random() < 0.1 + 0.35 * old:
            acj = np.array([sgn * (P['biac'] / 2 - 8 * sH), P['ysh'] + 8, P['lm']['acr'] + 2])
            add(['scapula_' + side, 'clavicle_' + side], [_sph(xf.p(acj), 12 * sH)], rng.uniform(1.3, 2.2))
        if rng.random() < 0.06 + 0.3 * old:
            add(['humerus_' + side, 'scapula_' + side], [_sph(xf.p(S + [-sgn * 14, 0, 0]), 16 * sH)],
                rng.uniform(1.3, 2.0))
        if rng.random() < 0.05 + 0.35 * old:
            add(['hand_' + side], [_sph(xf.p(P['thumb_base'][side]), 8 * sH)], rng.uniform(1.5, 3.0))
        if rng.random() < 0.15 * old:
            add(['hand_' + side], [_sph(xf.p(W + fdir * rng.uniform(110, 160) * sH + thumb * rng.uniform(-15, 8)),
                                        6 * sH)], rng.uniform(1.5, 3.0))
        A_, fd_, lat_, dors_ = P['foot_geo'][side]
        if rng.random() < 0.05 + 0.25 * old:
            add(['foot_' + side], [_sph(xf.p(A_ + fd_ * rng.uniform(40, 130) * sH - lat_ * 10), 10 * sH)],
                rng.uniform(1.4, 3.0))
        if rng.random() < 0.04 + 0.2 * old:
            sc = np.array([sgn * 20 * sH, P['sternum'][0][1] - 2, P['sternum'][2] - 2])
            add(['clavicle_' + side, 'sternum'], [_sph(xf.p(sc), 10 * sH)], rng.uniform(1.3, 1.9))
    vert = P['vert']
    for _ in range(int(rng.poisson(2.5 * old))):
        lv = 'L%d' % rng.integers(1, 6) if rng.random() < 0.7 else 'T%d' % rng.integers(8, 13)
        v = vert[lv]
        sgn = 1 if rng.random() < 0.5 else -1
        if rng.random() < 0.6:   # end-plate osteophyte at the lateral margin
            c = v['c'] + v['R'] @ np.array([sgn * v['w'] / 2, 0, (1 if rng.random() < 0.5 else -1) * v['h'] / 2])
            add([lv], [_sph(xf.p(c), rng.uniform(7, 11) * sH)], rng.uniform(1.3, 2.6))
        else:                    # facet joint
            c = v['c'] + v['R'] @ np.array([sgn * (v['w'] / 2 - 3), -(v['d'] / 2 + 14 * sH), 0])
            add([lv], [_sph(xf.p(c), rng.uniform(7, 10) * sH)], rng.uniform(1.3, 2.4))
    # old rib fractures: aligned foci on consecutive ribs
    if rng.random() < 0.1:
        sgn = 1 if rng.random() < 0.5 else -1
        i0 = int(rng.integers(3, 9))
        k = int(rng.integers(4, 9))
        for i in range(i0, min(11, i0 + int(rng.integers(1, 5)))):
            pts = P['ribs'][(sgn, i)]
            add(['rib%d_%s' % (i, 'L' if sgn > 0 else 'R')], [_sph(xf.p(pts[k]), rng.uniform(7, 10) * sH)],
                rng.uniform(1.6, 3.5))
    # vertebral compression fracture: a horizontal band
    if rng.random() < 0.06 * (1 + old):
        lv = 'T%d' % rng.integers(6, 13) if rng.random() < 0.6 else 'L%d' % rng.integers(1, 5)
        v = vert[lv]
        c = v['c'] + v['R'] @ np.array([0, 0, -v['h'] * 0.3])
        add([lv], [_Ell(xf.p(c), [v['w'] / 2 + 2, v['d'] / 2 + 2, 4.5], xf.m(v['R']))], rng.uniform(1.8, 3.0))
    # Paget's disease of one bone (rare)
    if rng.random() < 0.012:
        name = str(rng.choice(['pelvis', 'L3', 'T10', 'femur_left', 'femur_right', 'skull', 'tibfib_left']))
        add([name], None, rng.uniform(2.0, 4.0))
    # hyperostosis frontalis, dental uptake
    hd = P['head']
    if P['sex'] == 'F' and age > 45 and rng.random() < 0.15:
        Rh = _rot([0, 0, 1], P['head_yaw']) @ _rot([1, 0, 0], P['head_pitch'])
        c = hd['c'] + np.array([0, 0.38 * hd['hl'], -0.35 * hd['vh']])
        piv = np.array([0.0, vert['C1']['y'] + 5, vert['C1']['z'] - 12])
        add(['skull'], [_sph(xf.p((c - piv) @ Rh.T + piv), 45 * sH)], rng.uniform(1.4, 2.2))
    if rng.random() < 0.15:
        chin, maxc = P['mandible_pts']
        Rh = _rot([0, 0, 1], P['head_yaw']) @ _rot([1, 0, 0], P['head_pitch'])
        piv = np.array([0.0, vert['C1']['y'] + 5, vert['C1']['z'] - 12])
        c = chin + np.array([rng.uniform(-30, 30), -10, -8]) if rng.random() < 0.5 else maxc + [rng.uniform(
            -20, 20), 5, 12]
        add(['mandible', 'skull'], [_sph(xf.p((c - piv) @ Rh.T + piv), 8 * sH)], rng.uniform(1.5, 3.0))
    return out


# ====================================================================== metastases
_SITES = (('thoracic_spine', 0.20), ('lumbar_spine', 0.15), ('cervical_spine', 0.03), ('sacrum', 0.05),
          ('pelvis', 0.16), ('ribs_left', 0.09), ('ribs_right', 0.09), ('skull', 0.05), ('femur_left', 0.035),
          ('femur_right', 0.035), ('humerus_left', 0.02), ('humerus_right', 0.02), ('sternum', 0.03),
          ('scapula_left', 0.015), ('scapula_right', 0.015), ('clavicle_left', 0.005), ('clavicle_right', 0.005))


def _lesion_category(rng):
    u = rng.random()
    if u < 0.30:
        return 'none', 0
    if u < 0.47:
        return 'solitary', 1
    if u < 0.72:
        return 'few', int(rng.integers(2, 6))
    if u < 0.90:
        return 'multiple', int(rng.integers(6, 21))
    if u < 0.975:
        return 'extensive', int(rng.integers(21, 41))
    return 'superscan', 0


def _lesions(P, rng, b, n, superscan):
    by_region = {}
    for i, g in enumerate(b.groups):
        by_region.setdefault(REGION_CLASSES[g.region], []).append(i)
    out = []
    if superscan:
        for region in ('thoracic_spine', 'lumbar_spine', 'cervical_spine', 'sacrum', 'pelvis', 'ribs_left',
                       'ribs_right', 'sternum', 'skull', 'scapula_left', 'scapula_right', 'clavicle_left',
                       'clavicle_right', 'humerus_left', 'humerus_right', 'femur_left', 'femur_right'):
            ratio = float(np.exp(rng.uniform(math.log(1.6), math.log(2.8))))
            hosts = by_region[region]
            pieces = None
            if region.startswith(('femur', 'humerus')):
                g = b.groups[hosts[0]]
                c0 = g.prims[0].c
                far = g.prims[4].p1 if region.startswith('femur') else g.prims[2].p1
                u = far - c0
                pieces = [_Ell(c0 + 0.5 * u, [np.linalg.norm(u) * 0.62, 70, 70], _ortho(u, [1, 0, 0]))]
            out.append(_Blob(hosts, pieces, ratio, True, region, 'diffuse'))
        return out
    names = [s for s, _ in _SITES]
    w = np.array([p for _, p in _SITES])
    w /= w.sum()
    centre = rng.uniform(math.log(1.5), math.log(5.0))
    placed = []
    tries = 0
    while len(out) < n and tries < n * 12:
        tries += 1
        region = names[int(rng.choice(len(names), p=w))]
        hosts = by_region.get(region)
        if not hosts:
            continue
        gidx = int(rng.choice(hosts))
        g = b.groups[gidx]
        cand = list(range(len(g.prims)))
        if region.startswith(('femur', 'humerus')):
            cand = [k for k in cand if g.tags[k] == 'prox']
        elif region.endswith('_spine') and rng.random() < 0.75:
            cand = [k for k in cand if g.tags[k] == 'vb']
        vols = np.array([g.prims[k].volume() for k in cand])
        k = cand[int(rng.choice(len(cand), p=vols / vols.sum()))]
        prim = g.prims[k]
        c, ax = prim.sample(rng)
        d = float(np.clip(np.exp(rng.normal(math.log(17), 0.5)), 8, 50))
        ratio = float(np.exp(np.clip(centre + rng.normal(0, 0.3), math.log(1.3), math.log(8.0))))
        u = rng.random()
        if region.endswith('_spine') and g.tags[k] == 'vb' and u < 0.35:
            shape = 'vertebral'
            pieces = [type(prim)(prim.c, prim.s * 1.06, prim.R)]
            d = float(2 * prim.s.max())
            c = prim.c
        elif (region.startswith('ribs') and u < 0.6) or (u < 0.2):
            shape = 'elongated'
            q = rng.uniform(0.35, 0.65)
            pieces = [_Ell(c, [d / 2, d / 2 * q, d / 2 * q], _ortho(ax, rng.normal(size=3)))]
        elif u < 0.45:
            shape = 'irregular'
            pieces = []
            for _ in range(int(rng.integers(2, 5))):
                off = rng.normal(size=3) * d / 4.5
                pieces.append(_Ell(c + off, rng.uniform(d / 5, d / 2.8, size=3), _ortho(rng.normal(size=3),
                                                                                           rng.normal(size=3))))
        else:
            shape = 'focal'
            pieces = [_Ell(c, d / 2 * rng.uniform(0.85, 1.15, size=3), _ortho(rng.normal(size=3),
                                                                              rng.normal(size=3)))]
        if any(np.linalg.norm(c - c2) < 0.5 * (d + d2) + 4 for c2, d2 in placed):
            continue
        placed.append((c, d))
        out.append(_Blob([gidx], pieces, ratio, True, region, shape))
    return out


# ====================================================================== rendering
def _psf_sigma(P, d):
    hole, length, intr = P['coll']
    leff = length - 2.0 / MU_PB
    geo = hole * (leff + np.maximum(d, 0.0) + 10.0) / leff       # + 10 mm collimator face to crystal
    return np.sqrt(geo ** 2 + intr ** 2) / 2.3548


class _Renderer:
    def __init__(self, P, b, grid):
        self.P, self.b, self.g = P, b, grid
        g = grid
        self.act = np.zeros((g.ny, g.nz, g.nx), np.float32)
        self.mu = np.zeros((g.ny, g.nz, g.nx), np.float32)

    def _ray_interval(self, prim):
        """(first row, first column, entry y, exit y) of the rays through ``prim``'s bounding box (one interval per
        ray: a convex primitive), or None when the box misses the grid."""
        g = self.g
        lo3, hi3 = prim.bbox()
        zi0, zi1, xi0, xi1 = g.cols(lo3, hi3)
        if zi1 <= zi0 or xi1 <= xi0:
            return None
        (lo, hi), = prim.pieces(g.xc[xi0:xi1][None, :], g.zc[zi0:zi1][:, None])
        return zi0, xi0, lo, hi

    # -------------------------------------------------------------- soft tissue into the coarse volume
    def deposit_soft(self):
        g = self.g
        yb = g.y0 + np.arange(g.ny + 1) * DY
        for prim, conc, mode in self.b.soft:
            found = self._ray_interval(prim)
            if found is None:
                continue
            zi0, xi0, lo, hi = found
            ok = hi > lo
            if not ok.any():
                continue
            j0 = max(0, int((lo[ok].min() - g.y0) // DY))
            j1 = min(g.ny, int((hi[ok].max() - g.y0) // DY) + 1)
            if j1 <= j0:
                continue
            lo = np.where(ok, lo, 0.0)
            hi = np.where(ok, hi, 0.0)
            ov = (np.minimum(hi[None], yb[j0 + 1:j1 + 1, None, None]) -
                  np.maximum(lo[None], yb[j0:j1, None, None]))
            ov = np.clip(ov / DY, 0.0, 1.0).astype(np.float32)
            zi1, xi1 = zi0 + lo.shape[0], xi0 + lo.shape[1]
            sa = self.act[j0:j1, zi0:zi1, xi0:xi1]
            sm = self.mu[j0:j1, zi0:zi1, xi0:xi1]
            if mode == 'union':
                np.maximum(sa, ov * conc, out=sa)
                np.maximum(sm, ov * MU_SOFT, out=sm)
            else:
                inside = (sm > 0.5 * MU_SOFT).astype(np.float32)
                ov *= inside
                sa *= 1 - ov
                sa += ov * conc
                if mode == 'lung':
                    sm *= 1 - ov
                    sm += ov * MU_LUNG

    # -------------------------------------------------------------- bones: exact ray intervals per group
    def bone_portions(self):
        g = self.g
        self.port = []
        for grp in self.b.groups:
            boxes = [p.bbox() for p in grp.prims]
            lo3 = np.min([bx[0] for bx in boxes], axis=0)
            hi3 = np.max([bx[1] for bx in boxes], axis=0)
            zi0, zi1, xi0, xi1 = g.cols(lo3, hi3)
            if zi1 <= zi0 or xi1 <= xi0:
                self.port.append(None)
                continue
            LO, HI, CC = [], [], []
            for prim, conc, (plo, phi) in zip(grp.prims, grp.conc, boxes):
                a0, a1, c0, c1 = g.cols(plo, phi)
                if a1 <= a0 or c1 <= c0:
                    continue
                X = g.xc[c0:c1][None, :]
                Z = g.zc[a0:a1][:, None]
                for lo, hi in prim.pieces(X, Z):
                    L = np.full((zi1 - zi0, xi1 - xi0), np.inf)
                    Hh = np.full((zi1 - zi0, xi1 - xi0), -np.inf)
                    L[a0 - zi0:a1 - zi0, c0 - xi0:c1 - xi0] = lo
                    Hh[a0 - zi0:a1 - zi0, c0 - xi0:c1 - xi0] = hi
                    LO.append(L)
                    HI.append(Hh)
                    CC.append(conc)
            if not LO:
                self.port.append(None)
                continue
            LO = np.stack(LO)
            HI = np.stack(HI)
            order, st, ln = _sweep(LO, HI)
            cc = np.asarray(CC)[order]
            k, r, c = np.nonzero(ln > 0.05)
            self.port.append(dict(zi=(r + zi0).astype(np.int32), xi=(c + xi0).astype(np.int32),
                                  lo=st[k, r, c], ln=ln[k, r, c], conc=cc[k, r, c] * self.P['c_bone'],
                                  region=grp.region))
        # bone attenuation excess, deposited at the portion middle (line integral preserved)
        for grp, pt in zip(self.b.groups, self.port):
            if pt is None:
                continue
            j = np.clip(((pt['lo'] + pt['ln'] / 2 - g.y0) // DY).astype(np.int64), 0, g.ny - 1)
            np.add.at(self.mu, (j, pt['zi'], pt['xi']), (grp.dmu * pt['ln'] / DY).astype(np.float32))

    def hot_portions(self):
        self.hport = []
        for prim, conc in self.b.hot:
            found = self._ray_interval(prim)
            if found is None:
                continue
            zi0, xi0, lo, hi = found
            ln = hi - lo
            r, c = np.nonzero(ln > 0.05)
            self.hport.append(dict(zi=(r + zi0).astype(np.int32), xi=(c + xi0).astype(np.int32),
                                   lo=lo[r, c], ln=ln[r, c], conc=np.full(len(r), conc)))

    # -------------------------------------------------------------- attenuation and detector geometry
    def attenuation(self):
        g, P = self.g, self.P
        cs = np.cumsum(self.mu, axis=0, dtype=np.float32)
        cs *= DY
        half = self.mu * (DY / 2)
        self.water = cs[-1] / MU_SOFT                  # water-equivalent thickness (mm) per column
        self.A = {'POST': cs - half + P['table_att']}
        cs *= -1
        cs += self.water[None] * MU_SOFT
        cs += half
        self.A['ANT'] = cs
        # anterior detector height (per row when body-contouring), posterior detector below the table
        occ = (self.act > 0).any(axis=2)               # (ny, nz)
        top = np.where(occ.any(axis=0), g.y0 + (g.ny - np.argmax(occ[::-1], axis=0)) * DY, 0.0)
        if P['contour']:
            w = max(1, int(60 / g.p))
            top = ndimage.maximum_filter1d(top, 2 * w + 1)
            self.h_ant = top + P['ant_gap']
        else:
            self.h_ant = np.full(g.nz, top.max() + P['ant_gap'])
        self.y_post = -P['post_gap']
        dmax = max(float(self.h_ant.max() - g.y0), g.y0 + g.ny * DY - self.y_post) + 50
        self.nslab = int(dmax / SLAB) + 3

    def _aint(self, view, zi, xi, y):
        g = self.g
        f = (y - g.y0) / DY - 0.5
        j0 = np.clip(np.floor(f).astype(np.int64), 0, g.ny - 2)
        w = np.clip(f - j0, 0.0, 1.0)
        A = self.A[view]
        return A[j0, zi, xi] * (1 - w) + A[j0 + 1, zi, xi] * w

    def _dist(self, view, zi, y):
        return self.h_ant[zi] - y if view == 'ANT' else y - self.y_post

    def _slab_add(self, S, k, zi, xi, v):
        s = np.clip(k / SLAB, 0, self.nslab - 1.001)
        k0 = s.astype(np.int64)
        w = s - k0
        np.add.at(S, (k0, zi, xi), v * (1 - w))
        np.add.at(S, (k0 + 1, zi, xi), v * w)

    # -------------------------------------------------------------- projections
    def project(self, blobs_base, lesions):
        g = self.g
        out = {}
        self.regimg = {}
        self.foot = np.zeros((g.nz, g.nx), np.float32)
        for pt in self.port:
            if pt is not None:
                np.add.at(self.foot, (pt['zi'], pt['xi']), pt['ln'].astype(np.float32))
        for view in VIEWS:
            S = np.zeros((self.nslab, g.nz, g.nx), np.float32)
            R = np.zeros((len(REGION_CLASSES), g.nz, g.nx), np.float32)
            # soft tissue, slice by slice
            for j in range(g.ny):
                a = self.act[j]
                rows = np.nonzero(a.any(axis=1))[0]
                if len(rows) == 0:
                    continue
                r0, r1 = rows[0], rows[-1] + 1
                colsn = np.nonzero(a[r0:r1].any(axis=0))[0]
                c0, c1 = colsn[0], colsn[-1] + 1
                E = a[r0:r1, c0:c1] * np.exp(-self.A[view][j, r0:r1, c0:c1]) * DY
                yj = g.y0 + (j + 0.5) * DY
                d = self._dist(view, np.arange(r0, r1), yj)
                if np.isscalar(d) or np.ndim(d) == 0:
                    d = np.full(r1 - r0, float(d))
                s = np.clip(d / SLAB, 0, self.nslab - 1.001)
                k0 = s.astype(np.int64)
                w = (s - k0).astype(np.float32)[:, None]
                rr = np.arange(r0, r1)
                S[k0, rr, c0:c1] += E * (1 - w)
                S[k0 + 1, rr, c0:c1] += E * w
            # bones
            for pt in self.port:
                if pt is None:
                    continue
                y = pt['lo'] + pt['ln'] / 2
                v = pt['conc'] * pt['ln'] * np.exp(-self._aint(view, pt['zi'], pt['xi'], y))
                self._slab_add(S, self._dist(view, pt['zi'], y), pt['zi'], pt['xi'], v)
                np.add.at(R, (pt['region'], pt['zi'], pt['xi']), v.astype(np.float32))
            for pt in self.hport:
                y = pt['lo'] + pt['ln'] / 2
                v = pt['conc'] * pt['ln'] * np.exp(-self._aint(view, pt['zi'], pt['xi'], y))
                self._slab_add(S, self._dist(view, pt['zi'], y), pt['zi'], pt['xi'], v)
            for bl in blobs_base:
                for e in self.blob_entries(bl):
                    v = e['ex'] * np.exp(-self._aint(view, e['zi'], e['xi'], e['y']))
                    self._slab_add(S, self._dist(view, e['zi'], e['y']), e['zi'], e['xi'], v)
                    np.add.at(R, (e['region'], e['zi'], e['xi']), v.astype(np.float32))
            # depth-dependent collimator blur, slab by slab
            img = np.zeros((g.nz, g.nx), np.float32)
            for k in range(self.nslab):
                if not S[k].any():
                    continue
                sig = float(_psf_sigma(self.P, k * SLAB)) / g.p
                sr = math.hypot(sig, self.P['scan_blur'] / g.p)
                img += ndimage.gaussian_filter(S[k], [sr, sig], mode='constant', truncate=3.5)
            out[view] = img
            self.regimg[view] = R
        # scatter: broad kernel on the primary weighted by the water-equivalent thickness
        spr = np.clip(self.P['spr'] * self.water / 200.0, 0, 0.9).astype(np.float32)
        for view in VIEWS:
            src = out[view] * spr
            sc = 0.55 * ndimage.gaussian_filter(src, 14.0 / g.p, mode='constant', truncate=3.0)
            sc += 0.45 * ndimage.gaussian_filter(src, 45.0 / g.p, mode='constant', truncate=3.0)
            out[view] = out[view] + sc
        # lesions: each its own small projected, blurred image per view
        les = []
        for bl in lesions:
            ents = self.blob_entries(bl)
            if not ents:
                les.append(None)
                continue
            zi = np.concatenate([e['zi'] for e in ents])
            xi = np.concatenate([e['xi'] for e in ents])
            y = np.concatenate([e['y'] for e in ents])
            ex = np.concatenate([e['ex'] for e in ents])
            ov = np.concatenate([e['ov'] for e in ents])
            rec = dict(vol=float(ov.sum() * g.p * g.p), vol_by_region={}, views={})
            for e in ents:
                rname = REGION_CLASSES[e['region']]
                rec['vol_by_region'][rname] = rec['vol_by_region'].get(rname, 0.0) + float(e['ov'].sum()) * g.p ** 2
            pts = np.column_stack([g.xc[xi], y, g.zc[zi]])
            wts = ov / ov.sum()
            mu_ = (pts * wts[:, None]).sum(0)
            cov = ((pts - mu_) * wts[:, None]).T @ (pts - mu_)
            ev = np.linalg.eigh(cov)[1][:, -1]
            pr = (pts - mu_) @ ev
            rec['diameter'] = float(pr.max() - pr.min() + g.p)
            for view in VIEWS:
                v = ex * np.exp(-self._aint(view, zi, xi, y))
                dm = float((self._dist(view, zi, y) * v).sum() / max(v.sum(), 1e-12))
                sig = float(_psf_sigma(self.P, dm)) / g.p
                pad = int(math.ceil(3.5 * sig)) + 2
                r0 = max(0, zi.min() - pad)
                r1 = min(g.nz, zi.max() + pad + 1)
                c0 = max(0, xi.min() - pad)
                c1 = min(g.nx, xi.max() + pad + 1)
                loc = np.zeros((r1 - r0, c1 - c0))
                np.add.at(loc, (zi - r0, xi - c0), v)
                # + its share of scatter is neglected (broad and faint)
                sr = math.hypot(sig, self.P['scan_blur'] / g.p)
                loc = ndimage.gaussian_filter(loc, [sr, sig], mode='constant', truncate=3.5)
                rec['views'][view] = (r0, c0, loc)
            les.append(rec)
        return out, les

    def blob_entries(self, bl):
        g = self.g
        ents = []
        if bl.pieces is not None:
            lo3 = np.min([p.bbox()[0] for p in bl.pieces], axis=0)
            hi3 = np.max([p.bbox()[1] for p in bl.pieces], axis=0)
            zi0, zi1, xi0, xi1 = g.cols(lo3, hi3)
        for gi in bl.hosts:
            pt = self.port[gi]
            if pt is None:
                continue
            if bl.pieces is None:
                ov = pt['ln']
                y = pt['lo'] + ov / 2
                sel = slice(None)
                zi, xi, conc = pt['zi'], pt['xi'], pt['conc']
            else:
                sel = (pt['zi'] >= zi0) & (pt['zi'] < zi1) & (pt['xi'] >= xi0) & (pt['xi'] < xi1)
                if not sel.any():
                    continue
                zi, xi, conc = pt['zi'][sel], pt['xi'][sel], pt['conc'][sel]
                lo, ln = pt['lo'][sel], pt['ln'][sel]
                X, Z = g.xc[xi], g.zc[zi]
                ivs = []
                for p in bl.pieces:
                    ivs.extend(p.pieces(X, Z))
                ov, y = _union_overlap(ivs, lo, lo + ln)
                k = ov > 0.05
                if not k.any():
                    continue
                zi, xi, conc, ov, y = zi[k], xi[k], conc[k], ov[k], y[k]
            ents.append(dict(zi=zi, xi=xi, y=y, ov=ov, ex=(bl.ratio - 1.0) * conc * ov,
                             region=self.b.groups[gi].region))
        return ents


# ====================================================================== the public generator
C_MIN = 0.10      # lesion visible on a view: peak excess / local expected counts ...
ROSE = 4.0        # ... and summed excess / sqrt(summed expected) over its half-maximum area (Rose criterion)


def _resample(img, fd, fu, rows, cols):
    if fd > 1:
        nz, nx = img.shape
        return img[:nz // fd * fd, :nx // fd * fd].reshape(nz // fd, fd, nx // fd, fd).sum(axis=(1, 3))
    if fu > 1:
        z = ndimage.zoom(img, (rows / img.shape[0], cols / img.shape[1]), order=1, grid_mode=True,
                         mode='grid-constant')
        return z * (img.size / z.size)
    return img


def _build(seed, rows, cols, spacing_mm):
    ss = np.random.SeedSequence(int(seed))
    ra, rl = [np.random.default_rng(s) for s in ss.spawn(2)]
    P = _draw_patient(ra)
    _draw_setup(P, ra)
    cat, n_les = _lesion_category(rl)
    superscan = cat == 'superscan'
    if superscan:
        P['c_bone'] *= 1.6
    spacing = float(spacing_mm) if spacing_mm is not None else round(P['p256'] * 256.0 / cols, 4)
    P['spacing'] = spacing
    H = P['H']
    fovz = rows * spacing
    end = {'thigh': 0.62 * H, 'calf': 0.84 * H}.get(P['partial'], H + 40 + P['m_bot'])
    L = min(fovz, P['m_top'] + end)
    z0 = P['start_frac'] * (fovz - L)
    P['scan'] = (z0, z0 + L)
    zv = z0 + P['m_top']
    xf = _Xf(P['yaw'], P['roll'], [0, 100.0, 0.5 * H], [P['x_off'], 0.0, zv])
    b = _Builder(xf)
    _scene(P, ra, b, superscan)
    benign = _benign(P, ra, b)
    lesions = _lesions(P, rl, b, n_les, superscan)
    return P, b, benign, lesions, cat


def make_case(seed, *, lesions=True, rows=1024, cols=256, spacing_mm=None, total_counts=None):
    P, b, benign, les, cat = _build(seed, rows, cols, spacing_mm)
    spacing = P['spacing']
    fd, fu, pi, nzi, nxi = _grid_params(rows, cols, spacing)
    if fu > 1:
        nzi, nxi = -(-rows // fu), -(-cols // fu)
    # coarse volume depth range from the soft-tissue extents
    yhi = 0.0
    for prim, _, _ in b.soft:
        lo3, hi3 = prim.bbox()
        yhi = max(yhi, hi3[1])
    y0 = -24.0
    ny = int(math.ceil((yhi + 10 - y0) / DY))
    grid = _Grid(nzi, nxi, pi, y0, ny)
    rd = _Renderer(P, b, grid)
    rd.deposit_soft()
    rd.bone_portions()
    rd.hot_portions()
    rd.attenuation()
    base_int, les_int = rd.project(benign, les)
    # ---- output grid, framing masks
    base = {v: _resample(base_int[v], fd, fu, rows, cols) for v in VIEWS}
    zc = (np.arange(rows) + 0.5) * spacing
    xc = -cols * spacing / 2 + (np.arange(cols) + 0.5) * spacing
    mask = ((zc >= P['scan'][0]) & (zc <= P['scan'][1]))[:, None] & (np.abs(xc) <= P['ufov'] / 2)[None, :]

    def les_out(rec, view):
        r0, c0, loc = rec['views'][view]
        if fd > 1:
            a0, b0 = r0 % fd, c0 % fd
            loc = np.pad(loc, ((a0, (-(loc.shape[0] + a0)) % fd), (b0, (-(loc.shape[1] + b0)) % fd)))
            r0, c0 = (r0 - a0) // fd, (c0 - b0) // fd
            loc = loc.reshape(loc.shape[0] // fd, fd, loc.shape[1] // fd, fd).sum(axis=(1, 3))
        elif fu > 1:
            z = ndimage.zoom(loc, fu, order=1, grid_mode=True, mode='grid-constant') / fu ** 2
            r0, c0, loc = r0 * fu, c0 * fu, z
        r1 = min(rows, r0 + loc.shape[0])
        c1 = min(cols, c0 + loc.shape[1])
        loc = loc[:r1 - r0, :c1 - c0] * mask[r0:r1, c0:c1]
        return r0, c0, loc

    lout = [None if r is None else {v: les_out(r, v) for v in VIEWS} for r in les_int]
    # ---- count scale (ANT total), background
    bgpix = P['bg'] * (spacing / 2.26) ** 2
    raw = float((base['ANT'] * mask).sum()) + sum(float(o['ANT'][2].sum()) for o in lout if o is not None)
    target = float(total_counts) if total_counts is not None else P['counts']
    scale = max(target - bgpix * mask.sum(), 0.05 * target) / max(raw, 1e-12)
    expected = {v: ((base[v] * scale + bgpix) * mask) for v in VIEWS}
    # ---- lesion visibility, masks, ids
    cand = []
    for i, o in enumerate(lout):
        if o is None:
            continue
        vis = {}
        for v in VIEWS:
            r0, c0, loc = o[v]
            E = loc * scale
            if E.size == 0 or E.max() <= 0:
                continue
            B = expected[v][r0:r0 + E.shape[0], c0:c0 + E.shape[1]]
            M = E >= 0.5 * E.max()
            Bm = np.maximum(B[M], 1e-3)
            if (E[M] / Bm).max() >= C_MIN and E[M].sum() / math.sqrt(Bm.sum()) >= ROSE:
                vis[v] = M
        if vis:
            cand.append((i, vis))
    while True:
        labels = {v: np.zeros((rows, cols), np.int32) for v in VIEWS}
        best = {v: np.zeros((rows, cols)) for v in VIEWS}
        for k, (i, vis) in enumerate(cand, start=1):
            for v, M in vis.items():
                r0, c0, loc = lout[i][v]
                E = loc * scale
                sl = (slice(r0, r0 + E.shape[0]), slice(c0, c0 + E.shape[1]))
                win = M & (E > best[v][sl])
                labels[v][sl][win] = k
                best[v][sl][win] = E[win]
        keep = [c for k, c in enumerate(cand, start=1) if any((labels[v] == k).any() for v in VIEWS)]
        if len(keep) == len(cand):
            break
        cand = keep
    # ---- noise: base and lesion excess from separate generators (the twin shares the base draw)
    ss = np.random.SeedSequence([int(seed), 7919])
    gens = [np.random.default_rng(s) for s in ss.spawn(4)]
    views, lmaps = {}, {}
    for vi, v in enumerate(VIEWS):
        cnt = gens[vi].poisson(expected[v]).astype(np.float32)
        if lesions and cand:
            ex = np.zeros((rows, cols))
            for i, _ in cand:
                r0, c0, loc = lout[i][v]
                ex[r0:r0 + loc.shape[0], c0:c0 + loc.shape[1]] += loc * scale
            cnt += gens[2 + vi].poisson(ex).astype(np.float32)
        views[v] = cnt
        lmaps[v] = labels[v] if lesions else np.zeros((rows, cols), np.int32)
    # ---- region maps: bone contributing most (attenuated, unblurred) counts, within the bone footprint
    regions = {}
    foot = rd.foot
    for v in VIEWS:
        R = rd.regimg[v]
        if fd > 1:
            R = np.stack([_resample(r, fd, 1, rows, cols) for r in R])
            ft = _resample(foot, fd, 1, rows, cols) / fd ** 2
        else:
            R = R
            ft = foot
        reg = np.argmax(R[1:], axis=0).astype(np.int16) + 1
        reg[ft < 2.5] = 0
        if fu > 1:
            reg = np.repeat(np.repeat(reg, fu, 0), fu, 1)[:rows, :cols]
        reg[~mask] = 0
        regions[v] = reg
    # ---- truth records
    info, involved = [], {}
    if lesions:
        regvol = {}
        for grp, pt in zip(b.groups, rd.port):
            if pt is not None:
                n = REGION_CLASSES[grp.region]
                regvol[n] = regvol.get(n, 0.0) + float(pt['ln'].sum()) * pi * pi
        for k, (i, vis) in enumerate(cand, start=1):
            rec, bl = les_int[i], les[i]
            info.append(dict(id=k, region=bl.region, uptake_ratio=float(bl.ratio), diameter_mm=rec['diameter'],
                             shape=bl.shape, views=[v for v in VIEWS if (labels[v] == k).any()]))
            for rn, vol in rec['vol_by_region'].items():
                involved[rn] = involved.get(rn, 0.0) + vol / regvol[rn]
        involved = {k: float(min(1.0, v)) for k, v in involved.items()}
    # POST as acquired by the posterior detector: mirrored
    for d in (views, lmaps, regions):
        d['POST'] = np.ascontiguousarray(d['POST'][:, ::-1])
    return Case(views=views, lesions=lmaps, regions=regions, lesion_info=info, involved=involved,
                pixel_spacing=(float(spacing), float(spacing)), seed=int(seed))


# ====================================================================== DICOM export
NM_STORAGE = '1.2.840.10008.5.1.4.1.1.20'
SC_STORAGE = '1.2.840.10008.5.1.4.1.1.7'
VIEW_CODES = {'ANT': ('399321004', 'SCT', 'Anterior projection'),   # DICOM CID 26 (legacy SRT G-5215)
              'POST': ('399001007', 'SCT', 'Posterior projection')}  # DICOM CID 26 (legacy SRT G-5216)
DICOM_STYLES = ('nm_multiframe', 'nm_per_view', 'ge_whole_body')


def dicom_style(seed):
    return DICOM_STYLES[int(np.random.default_rng([int(seed), 4111]).integers(len(DICOM_STYLES)))]


def write_dicom(case, folder):
    """Write `case` as a camera export would be stored (style chosen from case.seed; see the module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seed = int(case.seed)
    style = dicom_style(seed)
    rng = np.random.default_rng([seed, 4112])
    P = _draw_patient(np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0]))
    # A patient's scan and its lesion-free twin are two acquisitions: their UIDs differ unless the images are the same
    # (a patient without lesions), so both can lie in one folder as two studies.
    drawn = 'lesions' if case.lesion_info else 'none'
    uid = lambda tag: generate_uid(entropy_srcs=['independent_phantom_2', str(seed), drawn, tag])  # noqa: E731
    study_uid, series_uid, frame_uid = uid('study'), uid('series'), uid('frame')
    day = np.datetime64('2015-01-05') + int(rng.integers(0, 3000))
    date = str(day).replace('-', '')
    hh, mm = int(rng.integers(8, 17)), int(rng.integers(0, 60))
    time_ = '%02d%02d%02d' % (hh, mm, int(rng.integers(0, 60)))
    bits = {'nm_multiframe': 16, 'nm_per_view': int(rng.choice([12, 14, 15, 16])), 'ge_whole_body': 16}[style]
    need = int(max(float(case.views[v].max()) for v in VIEWS)).bit_length()
    bits = min(16, max(bits, need))                # never clip counts the camera could store
    top = 2 ** bits - 1
    pix = {v: np.clip(np.rint(case.views[v]), 0, top).astype(np.uint16) for v in VIEWS}
    rows, cols = pix['ANT'].shape
    spacing = ['%.10g' % case.pixel_spacing[0], '%.10g' % case.pixel_spacing[1]]

    def code(v):
        c = Dataset()
        c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = VIEW_CODES[v]
        return c

    def det_item(v):
        d = Dataset()
        d.ViewCodeSequence = Sequence([code(v)])
        d.FieldOfViewShape = 'RECTANGLE'
        d.FieldOfViewDimensions = [540, 400]
        d.CollimatorType = 'PARA'
        d.CollimatorGridName = 'LEHR'
        return d

    def base(sop_class, inst_uid, number):
        fm = FileMetaDataset()
        fm.MediaStorageSOPClassUID = sop_class
        fm.MediaStorageSOPInstanceUID = inst_uid
        fm.TransferSyntaxUID = ExplicitVRLittleEndian
        fm.ImplementationClassUID = pydicom.uid.PYDICOM_IMPLEMENTATION_UID
        ds = Dataset()
        ds.file_meta = fm
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = inst_uid
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.Modality = 'NM'
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
        ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = time_
        ds.AccessionNumber = 'IP2%07d' % seed
        ds.StudyID = str(seed % 100000)
        ds.SeriesNumber = 1
        ds.InstanceNumber = number
        ds.StudyDescription = 'Whole Body Bone Scan'
        ds.PatientName = 'IP2^Seed%d' % seed
        ds.PatientID = 'IP2-%06d' % seed
        ds.PatientSex = P['sex']
        ds.PatientAge = '%03dY' % int(P['age'])
        ds.PatientSize = '%.2f' % (P['H'] / 1000)
        ds.PatientWeight = '%.1f' % (P['bmi'] * (P['H'] / 1000) ** 2)
        ds.ReferringPhysicianName = ''
        ds.BodyPartExamined = 'WHOLEBODY'
        ds.ImageType = ['ORIGINAL', 'PRIMARY', 'WHOLE BODY', 'EMISSION']
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = 'MONOCHROME2'
        ds.Rows, ds.Columns = rows, cols
        ds.BitsAllocated = 16
        ds.BitsStored = bits
        ds.HighBit = bits - 1
        ds.PixelRepresentation = 0
        ds.PixelSpacing = spacing
        rp = Dataset()
        rp.Radiopharmaceutical = 'Tc99m MDP'
        rp.RadionuclideTotalDose = '%.0f' % (rng.uniform(550, 925))
        nuc = Dataset()
        nuc.CodeValue, nuc.CodingSchemeDesignator, nuc.CodeMeaning = 'C-163A8', 'SRT', '^99m^Technetium'
        rp.RadionuclideCodeSequence = Sequence([nuc])
        ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
        ew = Dataset()
        rg = Dataset()
        rg.EnergyWindowLowerLimit = '126.45'
        rg.EnergyWindowUpperLimit = '154.55'
        ew.EnergyWindowRangeSequence = Sequence([rg])
        ew.EnergyWindowName = 'Tc99m'
        ds.EnergyWindowInformationSequence = Sequence([ew])
        ds.NumberOfEnergyWindows = 1
        return ds

    paths = []
    if style == 'nm_multiframe':
        # Siemens-like: one NM object, both views as frames indexed by the Detector Vector
        ds = base(NM_STORAGE, uid('img0'), 1)
        ds.Manufacturer = 'SIEMENS NM'
        ds.ManufacturerModelName = 'Symbia'
        ds.SeriesDescription = 'WB Bone ANT/POST'
        ds.NumberOfFrames = 2
        ds.FrameIncrementPointer = [pydicom.tag.Tag('EnergyWindowVector'), pydicom.tag.Tag('DetectorVector')]
        ds.EnergyWindowVector = [1, 1]
        ds.DetectorVector = [1, 2]
        ds.NumberOfDetectors = 2
        ds.DetectorInformationSequence = Sequence([det_item('ANT'), det_item('POST')])
        ds.PatientOrientation = ''
        ds.PixelData = np.stack([pix['ANT'], pix['POST']]).tobytes()
        p_ = folder / ('IP2_%06d_WB.dcm' % seed)
        ds.save_as(p_, enforce_file_format=True)
        paths.append(p_)
    else:
        for k, v in enumerate(VIEWS):
            if style == 'nm_per_view':
                # Philips / Mediso-like: one single-frame NM object per view, view in the codes and the text
                ds = base(NM_STORAGE, uid('img%d' % k), k + 1)
                ds.Manufacturer = 'Philips Medical Systems'
                ds.SeriesDescription = 'WB BONE'
                ds.ImageComments = 'ANTERIOR' if v == 'ANT' else 'POSTERIOR'
                ds.NumberOfFrames = 1
                ds.FrameIncrementPointer = pydicom.tag.Tag('DetectorVector')
                ds.DetectorVector = [k + 1]
                ds.NumberOfDetectors = 1
                ds.DetectorInformationSequence = Sequence([det_item(v)])
            else:
                # GE-like (as NM1): Secondary Capture with Modality NM, view in the series description and in
                # the private dataset name (_E anterior / _F posterior)
                ds = base(SC_STORAGE, uid('img%d' % k), k + 1)
                ds.Manufacturer = 'GE MEDICAL SYSTEMS'
                ds.ManufacturerModelName = 'MILLENNIUM MG'
                ds.ConversionType = 'WSD'
                ds.SeriesDescription = 'WHOLE BODY ' + v
                blk = ds.private_block(0x0011, 'GEMS_GENIE_1', create=True)
                blk.add_new(0x10, 'LO', 'WHOLE BODY_' + ('E' if v == 'ANT' else 'F'))
                blk.add_new(0x12, 'LO', 'WHOLE BODY_' + ('E' if v == 'ANT' else 'F'))
                blk.add_new(0x15, 'SL', k + 1)
                del ds.FrameOfReferenceUID
            ds.PatientOrientation = ['L', 'F'] if v == 'ANT' else ['R', 'F']
            ds.PixelData = pix[v].tobytes()
            p_ = folder / ('IP2_%06d_%s.dcm' % (seed, v))
            ds.save_as(p_, enforce_file_format=True)
            paths.append(p_)
    return paths


# ====================================================================== preview
def _preview(out, seed=0, real=None, n=3):
    import matplotlib  # lazy: only the preview draws
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt  # lazy: only the preview draws
    cases = [make_case(seed + k) for k in range(n)]
    panels = []
    if real:
        a = pydicom.dcmread(real).pixel_array.astype(float)
        panels.append(('NM1 (real, ANT)', a, None))
    for c in cases:
        for v in VIEWS:
            nl = len(c.lesion_info)
            panels.append(('seed %d %s  %d les  %.2fM' % (c.seed, v, nl, c.views[v].sum() / 1e6), c.views[v],
                           c.lesions[v]))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 10.5))
    for ax, (title, img, lab) in zip(np.atleast_1d(axes), panels):
        ax.imshow(np.sqrt(img), cmap='gray_r', vmin=0, vmax=np.sqrt(np.percentile(img[img > 0], 99.7)),
                  interpolation='nearest')
        if lab is not None and lab.any():
            ax.contour(lab > 0, levels=[0.5], colors='r', linewidths=0.6)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    plt.tight_layout()
    plt.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--preview', metavar='OUT.png')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--real', default=None)
    ap.add_argument('--n', type=int, default=3)
    ap.add_argument('--dicom', metavar='FOLDER', default=None)
    a = ap.parse_args(argv)
    if a.preview:
        _preview(a.preview, a.seed, a.real, a.n)
    if a.dicom:
        for p in write_dicom(make_case(a.seed), a.dicom):
            print(p)


if __name__ == '__main__':
    main()
