"""Circular arcs (GML ``Arc``, ``ArcString``, ``Circle``; SOSI "bue") as chains of straight
segments, so PostGIS and every map can use them.

A plan's boundaries follow road curves and roundabouts as arcs through three points. geoplan
stores straight segments: each arc is replaced by a polyline whose vertices lie on the circle and
whose chords stay within :data:`ARC_TOLERANCE_M` of it (1 cm, well inside any plan's accuracy).
The first and last points are kept exactly, so arcs still meet the segments next to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ARC_TOLERANCE_M = 0.01
"""Largest distance between an arc and the chords that replace it."""
STRAIGHT_ARC_M = 0.05
"""An arc whose middle point lies closer than this to the chord between its ends is (nearly)
straight: it is drawn as two straight segments through its three points (and reported)."""
MAX_ARC_SEGMENTS = 720
"""A cap on segments per arc (a 1 km radius half circle needs ≈ 280 at 1 cm)."""


class ArcDefect(ValueError):
    """The points cannot describe an arc (too few, repeated, or a closed "arc")."""


@dataclass(frozen=True)
class Linearised:
    """The polyline for one arc, and a note when the arc was (nearly) straight."""

    points: np.ndarray  # (n, 2)
    straight_by_m: float | None = None  # the middle point's distance from the chord, if straight


def _circle(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre and radius of the circle through three points (not collinear)."""
    ax, ay = p0
    bx, by = p1
    cx, cy = p2
    a2, b2, c2 = ax**2 + ay**2, bx**2 + by**2, cx**2 + cy**2
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    ux = (a2 * (by - cy) + b2 * (cy - ay) + c2 * (ay - by)) / d
    uy = (a2 * (cx - bx) + b2 * (ax - cx) + c2 * (bx - ax)) / d
    centre = np.array([ux, uy])
    return centre, float(np.hypot(*(p0 - centre)))


def _steps(radius: float, sweep: float, tolerance: float) -> int:
    """Segments needed so that no chord lies farther than ``tolerance`` from the circle."""
    if radius <= tolerance:
        return max(2, math.ceil(sweep / (math.pi / 4)))
    step = 2 * math.acos(1 - tolerance / radius)
    return int(min(MAX_ARC_SEGMENTS, max(2, math.ceil(sweep / step))))


def arc(points: np.ndarray, tolerance: float = ARC_TOLERANCE_M) -> Linearised:
    """The polyline of the arc that starts at ``points[0]``, passes ``points[1]`` and ends at
    ``points[2]`` (only x and y are used).

    Raises :class:`ArcDefect` for anything but three distinct points with distinct ends.
    """
    pts = np.asarray(points, dtype=float)[:, :2]
    if len(pts) != 3:
        raise ArcDefect(f"an arc needs exactly 3 positions, this one has {len(pts)}")
    p0, p1, p2 = pts
    if np.allclose(p0, p2, rtol=0, atol=1e-9):
        raise ArcDefect("the arc starts and ends at the same position (a closed arc is a Circle)")
    if np.allclose(p0, p1, rtol=0, atol=1e-9) or np.allclose(p1, p2, rtol=0, atol=1e-9):
        raise ArcDefect("the arc repeats a position; its three positions must differ")
    chord = p2 - p0
    off = abs(chord[0] * (p1 - p0)[1] - chord[1] * (p1 - p0)[0]) / float(np.hypot(*chord))
    if off < STRAIGHT_ARC_M:
        return Linearised(pts.copy(), straight_by_m=off)
    centre, radius = _circle(p0, p1, p2)
    a0, a2 = (math.atan2(p[1] - centre[1], p[0] - centre[0]) for p in (p0, p2))
    # counter-clockwise when p1 lies to the right of the chord p0 -> p2
    ccw = (chord[0] * (p1 - p0)[1] - chord[1] * (p1 - p0)[0]) < 0
    sweep = ((a2 - a0) if ccw else (a0 - a2)) % (2 * math.pi)
    n = _steps(radius, sweep, tolerance)
    sign = 1.0 if ccw else -1.0
    angles = a0 + sign * sweep * np.arange(n + 1) / n
    out = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    out[0], out[-1] = p0, p2  # exact ends, so neighbouring segments still meet
    return Linearised(out)


def arc_string(points: np.ndarray, tolerance: float = ARC_TOLERANCE_M) -> list[Linearised]:
    """An ``ArcString``: arcs through points 0-1-2, 2-3-4, ... (an odd number, at least 3)."""
    pts = np.asarray(points, dtype=float)
    if len(pts) < 3 or len(pts) % 2 == 0:
        raise ArcDefect(
            f"an arc string needs an odd number of positions (3, 5, ...), this one has {len(pts)}"
        )
    return [arc(pts[i : i + 3], tolerance) for i in range(0, len(pts) - 2, 2)]


def circle(points: np.ndarray, tolerance: float = ARC_TOLERANCE_M) -> np.ndarray:
    """A full ``Circle`` through three points, as a closed ring starting at the first point."""
    pts = np.asarray(points, dtype=float)[:, :2]
    if len(pts) != 3:
        raise ArcDefect(f"a circle needs exactly 3 positions, this one has {len(pts)}")
    p0, p1, p2 = pts
    chord = p2 - p0
    cross = chord[0] * (p1 - p0)[1] - chord[1] * (p1 - p0)[0]
    if abs(cross) < 1e-9 * max(float(np.hypot(*chord)), 1e-12):
        raise ArcDefect("the circle's three positions lie on one line")
    centre, radius = _circle(p0, p1, p2)
    a0 = math.atan2(p0[1] - centre[1], p0[0] - centre[0])
    n = _steps(radius, 2 * math.pi, tolerance)
    angles = a0 + 2 * math.pi * np.arange(n + 1) / n
    out = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    out[0] = out[-1] = p0
    return out
