"""Arcs as straight segments: on the circle, within the tolerance, ends kept exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from geoplan.zoning.curves import ARC_TOLERANCE_M, ArcDefect, arc, arc_string, circle


@pytest.mark.parametrize("ccw", [True, False])
def test_arc_lies_on_its_circle_and_keeps_its_ends(ccw):
    r = 50.0
    angles = (0.2, 1.1, 2.5) if ccw else (2.5, 1.1, 0.2)
    pts = np.array([[100 + r * math.cos(a), 200 + r * math.sin(a)] for a in angles])
    out = arc(pts)
    assert out.straight_by_m is None
    assert np.allclose(out.points[0], pts[0]) and np.allclose(out.points[-1], pts[2])
    radii = np.hypot(out.points[:, 0] - 100, out.points[:, 1] - 200)
    assert np.allclose(radii, r)
    # it passes the middle point (so it went the right way round) ...
    assert shapely.LineString(out.points).distance(shapely.Point(pts[1])) < ARC_TOLERANCE_M
    # ... and no chord strays from the circle by more than the tolerance
    mids = (out.points[1:] + out.points[:-1]) / 2
    assert (r - np.hypot(mids[:, 0] - 100, mids[:, 1] - 200)).max() <= ARC_TOLERANCE_M


def test_nearly_straight_arc_is_reported_and_kept_straight():
    out = arc(np.array([[0.0, 0.0], [10.0, 0.01], [20.0, 0.0]]))
    assert out.straight_by_m == pytest.approx(0.01)
    assert len(out.points) == 3


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([[0, 0], [0, 0]], "exactly 3 positions, this one has 2"),
        ([[0, 0], [1, 1], [0, 0]], "starts and ends at the same position"),
        ([[0, 0], [0, 0], [2, 2]], "repeats a position"),
    ],
)
def test_broken_arcs_are_defects(points, message):
    with pytest.raises(ArcDefect, match=message):
        arc(np.array(points, dtype=float))


def test_arc_string_and_circle():
    parts = arc_string(np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1], [1, 0.0001]]))
    assert len(parts) == 2
    with pytest.raises(ArcDefect, match="odd number"):
        arc_string(np.zeros((4, 2)))
    ring = circle(np.array([[1.0, 0], [0, 1], [-1, 0]]))
    assert np.allclose(ring[0], ring[-1])
    assert shapely.Polygon(ring).area == pytest.approx(math.pi, rel=0.02)
