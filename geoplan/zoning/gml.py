"""Reading a *Reguleringsplanforslag 5.0* GML file: the plan, its land-use areas, and every
problem found, each named by feature type, ``gml:id`` and line.

geoplan parses the GML itself with lxml rather than through GDAL's GML driver: it needs the
``gml:id`` and line of every element for its messages, must resolve ``xlink:href`` references
between features and inside rings, must linearise arcs (``gml:Arc``, ``ArcString``, ``Circle``)
with a known tolerance, and must tell a defect in what it stores from a defect in what it only
reads past. The parser never expands entities, never touches the network and keeps lxml's
limits for huge trees on (``resolve_entities=False, no_network=True, huge_tree=False``).

What is stored, what is read past, and which defects refuse a file (the rest are warnings) is
documented in docs/zoning.md. In short: defects in ``Arealplan``, ``RpOmråde`` and
``RpArealformålOmråde`` — the features geoplan stores — refuse the file; the same defects in
features geoplan does not store are warnings.
"""

from __future__ import annotations

import math
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from lxml import etree
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from geoplan.config import STORAGE_SRID
from geoplan.zoning import curves
from geoplan.zoning.codes import CodeLists, code_lists
from geoplan.zoning.model import (
    Finding,
    LandUseRecord,
    PlanData,
    PlanFileError,
    PlanRecord,
)

GML = "http://www.opengis.net/gml/3.2"
XLINK = "http://www.w3.org/1999/xlink"
RPF = "http://skjema.geonorge.no/SOSI/produktspesifikasjon/Reguleringsplanforslag/5.0"
FORMAT = "Reguleringsplanforslag 5.0 GML"

ALLOWED_EPSG: dict[int, int] = {
    25832: 25832,
    25833: 25833,
    25835: 25835,
    5972: 25832,  # ETRS89 / UTM 32N + NN2000 height
    5973: 25833,
    5975: 25835,
}
"""The CRSs Reguleringsplanforslag 5.0 allows, each mapped to its horizontal CRS."""
THREE_D = {5972, 5973, 5975}
MAX_FILE_BYTES = 512 * 1024 * 1024
"""Larger files are refused before parsing (a whole municipality's plans is far smaller)."""
JOIN_TOLERANCE_M = 0.001
"""Segments of a curve and curves of a ring must meet within this distance."""
BOUNDARY_TOLERANCE_M = 0.001
"""A boundary line (``avgrensesAv``) must lie on its area's boundary within this distance."""

STORED = ("Arealplan", "RpOmråde", "RpArealformålOmråde")
"""The features geoplan stores: a defect in any of them refuses the file."""

_SURFACES = {"Polygon", "Surface", "MultiSurface", "CompositeSurface", "TriangulatedSurface", "Tin"}
_CURVES = {"LineString", "Curve", "MultiCurve", "CompositeCurve", "OrientableCurve"}
_POINTS = {"Point", "MultiPoint"}
_GEOMETRIES = _SURFACES | _CURVES | _POINTS
_EPSG_RE = re.compile(r"EPSG(?:/[\d.]+/|:[\d.]*:|:|::)(\d+)\s*$", re.IGNORECASE)
_KOMMUNENUMMER_RE = re.compile(r"^\d{4}$")
_PLAN_ID_RE = re.compile(r"^[\w.\-]{1,16}$")


def _q(name: str, ns: str = RPF) -> str:
    return f"{{{ns}}}{name}"


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def epsg_of(srs_name: str) -> int | None:
    """The EPSG code in an ``srsName`` (``http://www.opengis.net/def/crs/EPSG/0/25832``,
    ``urn:ogc:def:crs:EPSG::25832``, ``EPSG:25832``), else None."""
    m = _EPSG_RE.search(srs_name.strip())
    return int(m.group(1)) if m else None


@lru_cache(maxsize=8)
def _to_storage(epsg: int) -> Transformer:
    return Transformer.from_crs(epsg, STORAGE_SRID, always_xy=True)


class _Defect(Exception):
    """A geometry that cannot be read as written; ``element`` says where."""

    def __init__(self, message: str, element: etree._Element | None = None):
        super().__init__(message)
        self.element = element


@dataclass
class _Context:
    """What geometry parsing needs from the whole file."""

    ids: dict[str, etree._Element]
    default_srs: str | None
    notes: list[str] = field(default_factory=list)  # harmless things done (reported as warnings)
    srs_seen: set[int] = field(default_factory=set)


def _describe(el: etree._Element) -> str:
    gid = el.get(_q("id", GML))
    return f"gml:{_local(el.tag)}" + (f" gml:id={gid}" if gid else "") + f" (line {el.sourceline})"


class _GeometryReader:
    """Turns one GML geometry element into a shapely geometry in its own CRS (x, y only)."""

    def __init__(self, ctx: _Context):
        self.ctx = ctx

    # -- CRS and dimension ----------------------------------------------------------------------
    def srs(self, el: etree._Element) -> str | None:
        """The srsName in force at ``el``: its own, an enclosing geometry's, else the file's."""
        node: etree._Element | None = el
        while node is not None and _local(node.tag) and node.tag.startswith(f"{{{GML}}}"):
            srs = node.get("srsName")
            if srs:
                return srs
            node = node.getparent()
        return self.ctx.default_srs

    def dimension(self, el: etree._Element, epsg: int) -> int:
        node: etree._Element | None = el
        while node is not None and node.tag.startswith(f"{{{GML}}}"):
            dim = node.get("srsDimension")
            if dim:
                try:
                    d = int(dim)
                except ValueError:
                    raise _Defect(f"srsDimension {dim!r} is not a number", node) from None
                if d not in (2, 3):
                    raise _Defect(f"srsDimension {d} (only 2 and 3 are possible)", node)
                return d
            node = node.getparent()
        return 3 if epsg in THREE_D else 2

    def check_crs(self, top: etree._Element) -> int:
        """The EPSG code of the geometry ``top``; every element inside must agree."""
        srs = self.srs(top)
        if not srs:
            raise _Defect(
                "no coordinate reference system: no srsName on the geometry, on an enclosing "
                "geometry or on the file's gml:boundedBy envelope",
                top,
            )
        epsg = epsg_of(srs)
        if epsg is None:
            raise _Defect(f"srsName {srs!r} names no EPSG code", top)
        if epsg not in ALLOWED_EPSG:
            raise _Defect(
                f"CRS EPSG:{epsg} is not one Reguleringsplanforslag 5.0 allows "
                f"(EPSG:{', '.join(map(str, ALLOWED_EPSG))})",
                top,
            )
        for inner in top.iter():
            inner_srs = inner.get("srsName") if isinstance(inner.tag, str) else None
            if inner_srs and ALLOWED_EPSG.get(epsg_of(inner_srs) or 0) != ALLOWED_EPSG[epsg]:
                raise _Defect(f"mixes CRSs: {srs} and {inner_srs}", inner)
        self.ctx.srs_seen.add(epsg)
        return epsg

    # -- coordinates ----------------------------------------------------------------------------
    def coords(self, el: etree._Element, epsg: int) -> np.ndarray:
        """The positions of ``el`` (posList, pos children, or pointProperty/Point) as (n, 2)."""
        pos_list = el.find(_q("posList", GML))
        if pos_list is not None:
            dim = self.dimension(pos_list, epsg)
            values = self._numbers(pos_list)
            if len(values) % dim:
                raise _Defect(
                    f"posList has {len(values)} numbers, not a multiple of its dimension {dim}: "
                    "a coordinate is missing",
                    pos_list,
                )
            return values.reshape(-1, dim)[:, :2]
        rows = []
        for child in el:
            name = _local(child.tag)
            if name == "pos":
                dim = self.dimension(child, epsg)
                values = self._numbers(child)
                if len(values) != dim:
                    raise _Defect(f"pos has {len(values)} numbers, expected {dim}", child)
                rows.append(values[:2])
            elif name in ("pointProperty", "pointRep"):
                point = child.find(_q("Point", GML))
                if point is None:
                    point = self._resolve(child)
                rows.append(self.coords(point, epsg)[0])
            elif name == "coordinates":
                raise _Defect("gml:coordinates is not GML 3.2 (use gml:posList)", child)
        if not rows:
            raise _Defect("no coordinates (no gml:posList or gml:pos)", el)
        return np.array(rows, dtype=float)

    @staticmethod
    def _numbers(el: etree._Element) -> np.ndarray:
        text = (el.text or "").split()
        try:
            values = np.array([float(t) for t in text], dtype=float)
        except ValueError:
            bad = next(t for t in text if not _is_number(t))
            raise _Defect(f"{bad!r} is not a number", el) from None
        if not np.isfinite(values).all():
            bad = next(t for t, v in zip(text, values, strict=True) if not math.isfinite(v))
            raise _Defect(f"{bad!r} is not a finite number", el)
        return values

    def _resolve(self, prop: etree._Element) -> etree._Element:
        """The element an ``xlink:href`` on a property points at (geometry references)."""
        href = prop.get(_q("href", XLINK))
        if not href:
            raise _Defect(f"{_local(prop.tag)} holds no geometry and no xlink:href", prop)
        if not href.startswith("#"):
            raise _Defect(f"geometry reference {href!r} points into another file", prop)
        target = self.ctx.ids.get(href[1:])
        if target is None:
            raise _Defect(f"geometry reference {href!r} points at no gml:id in the file", prop)
        return target

    def _member(self, prop: etree._Element) -> etree._Element:
        child = next((c for c in prop if isinstance(c.tag, str)), None)
        return child if child is not None else self._resolve(prop)

    # -- curves ---------------------------------------------------------------------------------
    def curve_points(self, el: etree._Element, epsg: int) -> np.ndarray:
        """A curve's positions as one polyline (arcs linearised), segments joined."""
        name = _local(el.tag)
        if name in ("LineString", "LineStringSegment"):
            pts = _dedupe(self.coords(el, epsg), el, self.ctx)
            if len(pts) < 2:
                raise _Defect("a line needs at least 2 distinct positions", el)
            return pts
        if name == "Arc":
            return self._arc(el, epsg)
        if name == "ArcString":
            try:
                parts = curves.arc_string(self.coords(el, epsg))
            except curves.ArcDefect as exc:
                raise _Defect(str(exc), el) from None
            for part in parts:
                self._note_straight(part, el)
            return np.vstack([parts[0].points] + [p.points[1:] for p in parts[1:]])
        if name == "Circle":
            try:
                return curves.circle(self.coords(el, epsg))
            except curves.ArcDefect as exc:
                raise _Defect(str(exc), el) from None
        if name == "Curve":
            segments = el.find(_q("segments", GML))
            if segments is None or not len(segments):
                raise _Defect("a gml:Curve without segments", el)
            return self._join([self.curve_points(s, epsg) for s in segments], list(segments))
        if name == "OrientableCurve":
            base = el.find(_q("baseCurve", GML))
            if base is None:
                raise _Defect("a gml:OrientableCurve without baseCurve", el)
            pts = self.curve_points(self._member(base), epsg)
            return pts[::-1] if el.get("orientation") == "-" else pts
        if name == "CompositeCurve":
            members = el.findall(_q("curveMember", GML))
            parts = [self.curve_points(self._member(m), epsg) for m in members]
            if not parts:
                raise _Defect("an empty gml:CompositeCurve", el)
            return self._join(parts, members)
        raise _Defect(f"gml:{name} is not a curve geoplan reads", el)

    def _arc(self, el: etree._Element, epsg: int) -> np.ndarray:
        try:
            result = curves.arc(self.coords(el, epsg))
        except curves.ArcDefect as exc:
            raise _Defect(str(exc), el) from None
        self._note_straight(result, el)
        return result.points

    def _note_straight(self, result: curves.Linearised, el: etree._Element) -> None:
        if result.straight_by_m is not None:
            self.ctx.notes.append(
                f"{_describe(el)}: the arc is (nearly) straight — its middle point lies "
                f"{result.straight_by_m:.3f} m from the line between its ends — and was drawn as "
                "straight segments through its three points"
            )

    @staticmethod
    def _join(parts: list[np.ndarray], elements: list[etree._Element]) -> np.ndarray:
        out = [parts[0]]
        for prev_el, el, part in zip(elements, elements[1:], parts[1:], strict=False):
            gap = float(np.hypot(*(out[-1][-1] - part[0])))
            if gap > JOIN_TOLERANCE_M:
                raise _Defect(
                    f"does not join the segment before it ({_describe(prev_el)}): "
                    f"they are {gap:.3f} m apart",
                    el,
                )
            out.append(part[1:])
        return np.vstack(out)

    # -- surfaces -------------------------------------------------------------------------------
    def ring(self, el: etree._Element, epsg: int) -> np.ndarray:
        name = _local(el.tag)
        if name == "LinearRing":
            pts = self.coords(el, epsg)
        elif name == "Ring":
            members = el.findall(_q("curveMember", GML))
            if not members:
                raise _Defect("a gml:Ring without curveMember", el)
            pts = self._join([self.curve_points(self._member(m), epsg) for m in members], members)
        else:
            raise _Defect(f"gml:{name} is not a ring", el)
        if len(pts) < 4:
            raise _Defect(f"a ring needs at least 4 positions, this one has {len(pts)}", el)
        gap = float(np.hypot(*(pts[0] - pts[-1])))
        if gap > JOIN_TOLERANCE_M:
            raise _Defect(
                f"the ring is not closed: it starts at ({pts[0][0]:.3f} {pts[0][1]:.3f}) and ends "
                f"at ({pts[-1][0]:.3f} {pts[-1][1]:.3f}), {gap:.3f} m apart",
                el,
            )
        pts = pts.copy()
        pts[-1] = pts[0]
        return pts

    def polygon(self, el: etree._Element, epsg: int) -> Polygon:
        """A ``gml:Polygon``, ``PolygonPatch`` or ``Triangle``, its rings checked one by one."""
        ext = el.find(_q("exterior", GML))
        if ext is None:
            raise _Defect("a surface without exterior ring", el)
        ring_el = self._member(ext)
        shell = _dedupe(self.ring(ring_el, epsg), ring_el, self.ctx)
        shell_poly = Polygon(shell)
        if not shell_poly.is_valid:
            raise _Defect(f"the exterior ring {_reason(shell_poly)}", ring_el)
        holes = []
        for i, interior in enumerate(el.findall(_q("interior", GML)), start=1):
            hole_el = self._member(interior)
            hole = _dedupe(self.ring(hole_el, epsg), hole_el, self.ctx)
            hole_poly = Polygon(hole)
            if not hole_poly.is_valid:
                raise _Defect(f"interior ring {i} {_reason(hole_poly)}", hole_el)
            if not shell_poly.contains(hole_poly):
                raise _Defect(f"interior ring {i} is not inside the exterior ring", hole_el)
            for j, (other, _) in enumerate(holes, start=1):
                if other.intersection(hole_poly).area > 0:
                    raise _Defect(f"interior rings {j} and {i} overlap", hole_el)
            holes.append((hole_poly, hole))
        poly = Polygon(shell, [h for _, h in holes])
        if not poly.is_valid:
            raise _Defect(f"the surface {_reason(poly)}", el)
        if not shapely.is_ccw(poly.exterior):
            self.ctx.notes.append(
                f"{_describe(ring_el)}: the exterior ring runs clockwise (GML and SOSI draw it "
                "counter-clockwise); geoplan stores it reoriented"
            )
        for i, hole in enumerate(poly.interiors, start=1):
            if shapely.is_ccw(hole):
                self.ctx.notes.append(
                    f"{_describe(el)}: interior ring {i} runs counter-clockwise (GML and SOSI "
                    "draw holes clockwise); geoplan stores it reoriented"
                )
        return orient(poly, 1.0)

    def surface(self, el: etree._Element, epsg: int) -> MultiPolygon:
        name = _local(el.tag)
        if name == "Polygon":
            parts = [self.polygon(el, epsg)]
        elif name in ("Surface", "TriangulatedSurface", "Tin"):
            patches = el.find(_q("patches", GML))
            if patches is None:
                patches = el.find(_q("trianglePatches", GML))
            if patches is None or not len(patches):
                raise _Defect(f"a gml:{name} without patches", el)
            parts = [self.polygon(p, epsg) for p in patches]
            if name != "Surface":  # triangles of a terrain may share edges: a collection
                return MultiPolygon(parts)
        elif name in ("MultiSurface", "CompositeSurface"):
            members = el.findall(_q("surfaceMember", GML))
            for group in el.findall(_q("surfaceMembers", GML)):
                members.extend(group)
            parts = []
            for m in members:
                member = m if _local(m.tag) in _SURFACES else self._member(m)
                parts.extend(self.surface(member, epsg).geoms)
            if not parts:
                raise _Defect(f"an empty gml:{name}", el)
        else:
            raise _Defect(f"gml:{name} is not a surface", el)
        multi = MultiPolygon(parts)
        if not multi.is_valid:
            raise _Defect(f"the parts of the surface overlap ({_reason(multi)})", el)
        return multi

    def read(self, el: etree._Element) -> tuple[BaseGeometry, int]:
        """Any geometry (surface, curve or point) and its EPSG code."""
        epsg = self.check_crs(el)
        name = _local(el.tag)
        if name in _SURFACES:
            return self.surface(el, epsg), epsg
        if name in ("MultiCurve",):
            members = [self._member(m) for m in el.findall(_q("curveMember", GML))]
            return shapely.MultiLineString([self.curve_points(m, epsg) for m in members]), epsg
        if name in _CURVES:
            return LineString(self.curve_points(el, epsg)), epsg
        if name == "Point":
            return Point(self.coords(el, epsg)[0]), epsg
        if name == "MultiPoint":
            members = el.findall(_q("pointMember", GML))
            return shapely.MultiPoint(
                [self.coords(self._member(m), epsg)[0] for m in members]
            ), epsg
        raise _Defect(f"gml:{name} is not a geometry geoplan reads", el)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _reason(geom: BaseGeometry) -> str:
    """shapely's validity reason in words: "crosses itself at (x y)" and the like."""
    reason = shapely.is_valid_reason(geom)
    m = re.match(r"([A-Za-z \-]+)\[([-\d.eE+ ]+)\]", reason)
    if not m:
        return f"is invalid ({reason})"
    kind, where = m.group(1).strip(), m.group(2).split()
    at = f"({float(where[0]):.3f} {float(where[1]):.3f})" if len(where) >= 2 else ""
    words = {
        "Self-intersection": f"crosses itself at {at}",
        "Ring Self-intersection": f"touches itself at {at}",
        "Interior is disconnected": f"is cut in two by its interior rings near {at}",
        "Hole lies outside shell": f"has an interior ring outside it near {at}",
        "Nested holes": f"has nested interior rings near {at}",
        "Nested shells": f"has one part inside another near {at}",
        "Too few points": f"has too few positions near {at}",
    }
    return words.get(kind, f"is invalid: {kind} at {at}")


def _dedupe(pts: np.ndarray, el: etree._Element, ctx: _Context) -> np.ndarray:
    """Drop repeated consecutive positions (zero-length segments), noting it."""
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.hypot(*(np.diff(pts, axis=0).T)) > 1e-9
    if not keep.all():
        ctx.notes.append(
            f"{_describe(el)}: {int((~keep).sum())} repeated position(s) (zero-length segments) "
            "removed"
        )
    return pts[keep]


# -- the file -------------------------------------------------------------------------------------
def _parse(path: Path) -> etree._ElementTree:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise PlanFileError(
            path.name,
            [
                Finding(
                    "",
                    f"the file is {size / 2**20:.0f} MiB; geoplan reads plan files up to "
                    f"{MAX_FILE_BYTES // 2**20} MiB",
                )
            ],
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        return etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (None, None)
        raise PlanFileError(
            path.name,
            [Finding(f"line {line}, column {col}", f"not well-formed XML ({exc.msg})")],
        ) from None


def _text(el: etree._Element | None, *names: str) -> str | None:
    """The first non-empty text of an element named ``names`` (in order) below ``el``."""
    if el is None:
        return None
    for name in names:
        for found in el.iter(_q(name)):
            if found.text and found.text.strip():
                return found.text.strip()
    return None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    """A finite number, else None (as for text that is no number: ``INF`` is none either)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass
class _Feature:
    el: etree._Element
    type: str
    gml_id: str | None

    @property
    def where(self) -> str:
        gid = f" gml:id={self.gml_id}" if self.gml_id else ""
        return f"{self.type}{gid} (line {self.el.sourceline})"

    @property
    def stored(self) -> bool:
        return self.type in STORED


def read_plan_gml(path: Path, codes: CodeLists | None = None) -> PlanData:
    """Read and check the plan in ``path``; raise :class:`PlanFileError` listing every problem
    that refuses it. Geometries come back in EPSG:25833; nothing is written."""
    codes = codes or code_lists()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    tree = _parse(path)
    root = tree.getroot()
    findings: list[Finding] = []

    def problem(where: str, message: str, stored: bool) -> None:
        findings.append(Finding(where, message, error=stored))

    if root.tag != _q("FeatureCollection", GML):
        raise PlanFileError(
            path.name,
            [
                Finding(
                    f"root element (line {root.sourceline})",
                    f"is {root.tag}, expected gml:FeatureCollection of GML 3.2 ({GML})",
                )
            ],
        )
    features: list[_Feature] = []
    for member in root:
        if _local(member.tag) not in ("featureMember", "featureMembers", "member"):
            continue
        for el in member:
            if isinstance(el.tag, str):
                features.append(_Feature(el, _local(el.tag), el.get(_q("id", GML))))
    foreign = [f for f in features if etree.QName(f.el.tag).namespace != RPF]
    if not features or len(foreign) == len(features):
        namespaces = sorted({etree.QName(f.el.tag).namespace or "" for f in features})
        raise PlanFileError(
            path.name,
            [
                Finding(
                    "",
                    "not a Reguleringsplanforslag 5.0 file: no feature in the namespace "
                    f"{RPF}" + (f" (found: {', '.join(namespaces)})" if namespaces else ""),
                )
            ],
        )
    for f in foreign:
        problem(
            f.where,
            f"is not a Reguleringsplanforslag 5.0 feature (namespace "
            f"{etree.QName(f.el.tag).namespace}); read past",
            False,
        )
    features = [f for f in features if f not in foreign]

    # gml:id: unique in the file (links and geoplan's messages rely on them)
    ids: dict[str, etree._Element] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        gid = el.get(_q("id", GML))
        if gid is None:
            continue
        if gid in ids:
            first = ids[gid]
            problem(
                f"gml:{_local(el.tag)} (line {el.sourceline})"
                if el.tag.startswith(f"{{{GML}}}")
                else f"{_local(el.tag)} (line {el.sourceline})",
                f"gml:id {gid} is already used by {_local(first.tag)} on line {first.sourceline}; "
                "gml:ids must be unique in a file",
                True,
            )
        else:
            ids[gid] = el

    envelope = root.find(f"{_q('boundedBy', GML)}/{_q('Envelope', GML)}")
    ctx = _Context(ids=ids, default_srs=envelope.get("srsName") if envelope is not None else None)
    reader = _GeometryReader(ctx)

    # every geometry of every feature: stored ones must be sound, the others are checked too
    geoms: dict[etree._Element, dict[str, tuple[BaseGeometry, int]]] = {}
    for f in features:
        for prop in f.el:
            if not isinstance(prop.tag, str):
                continue
            top = next((c for c in prop if isinstance(c.tag, str)), None)
            if (
                top is None
                or _local(top.tag) not in _GEOMETRIES
                or not top.tag.startswith(f"{{{GML}}}")
            ):
                continue
            notes_before = len(ctx.notes)
            try:
                geoms.setdefault(f.el, {})[_local(prop.tag)] = reader.read(top)
            except _Defect as exc:
                at = f", {_describe(exc.element)}" if exc.element is not None else ""
                problem(f"{f.where}, {_local(prop.tag)}{at}", str(exc), f.stored)
            for note in ctx.notes[notes_before:]:
                problem(f.where, note, False)
            del ctx.notes[notes_before:]

    # links between features: geoplan follows none of them (one plan per file), so a broken
    # or external link is reported, not refused
    by_element = {f.el: f for f in features}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        href = el.get(_q("href", XLINK))
        if not href or _local(el.tag) in (
            "curveMember",
            "surfaceMember",
            "baseCurve",
            "exterior",
            "interior",
            "pointProperty",
        ):
            continue
        owner = _owner(el, by_element)
        where = f"{owner.where}, {_local(el.tag)}" if owner else f"line {el.sourceline}"
        if not href.startswith("#"):
            problem(where, f"links to another file ({href}); not followed", False)
        elif href[1:] not in ids:
            problem(where, f"links to {href}, which no element of the file has as gml:id", False)

    for f in features:
        lokal = _text(f.el.find(_q("identifikasjon")), "lokalId")
        if lokal is not None and not _is_uuid(lokal):
            problem(f.where, f"lokalId {lokal!r} is not a UUID", False)

    plans = [f for f in features if f.type == "Arealplan"]
    if len(plans) != 1:
        problem(
            "",
            "the file has no Arealplan"
            if not plans
            else f"the file has {len(plans)} Arealplan features; geoplan imports one plan per file",
            True,
        )
    plan = _plan_record(plans[0], codes, problem) if len(plans) == 1 else None

    areas: list[LandUseRecord] = []
    seen_ids: dict[str, _Feature] = {}
    for f in features:
        if f.type != "RpArealformålOmråde" or plan is None:
            continue
        record = _land_use_record(f, plan, codes, geoms.get(f.el, {}), problem)
        if record is None:
            continue
        if record.id in seen_ids:
            problem(f.where, f"has the same lokalId as {seen_ids[record.id].where}", True)
            continue
        seen_ids[record.id] = f
        areas.append(record)
        _check_boundaries(f, geoms, ids, problem)

    plan_area, plan_area_where = None, ""
    rp = [f for f in features if f.type == "RpOmråde"]
    parts = [geoms[f.el]["område"] for f in rp if "område" in geoms.get(f.el, {})]
    if parts:
        plan_area = _to_multipolygon(shapely.union_all([_storage(g, e) for g, e in parts]))
        plan_area_where = ", ".join(f.where for f in rp)

    errors = [x for x in findings if x.error]
    if errors:
        raise PlanFileError(path.name, findings)
    assert plan is not None
    ignored = Counter(f.type for f in features if f.type not in STORED)
    return PlanData(
        path=path,
        format=FORMAT,
        plan=plan,
        plan_area=plan_area,
        plan_area_where=plan_area_where,
        areas=areas,
        warnings=findings,
        ignored=ignored,
        crs=[f"EPSG:{e}" for e in sorted(ctx.srs_seen)],
    )


def _owner(el: etree._Element, features: dict[etree._Element, _Feature]) -> _Feature | None:
    node = el
    while node is not None:
        if node in features:
            return features[node]
        node = node.getparent()
    return None


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def plan_key(kommunenummer: str | None, plan_id: str | None, fallback: str) -> str:
    """geoplan's id of a plan: the national plan id ``<kommunenummer>_<planidentifikasjon>``
    when both are usable, else ``fallback`` (the plan's lokalId or gml:id)."""
    if kommunenummer and plan_id and _PLAN_ID_RE.match(plan_id):
        return f"{kommunenummer}_{plan_id}"
    return fallback


def _plan_record(f: _Feature, codes: CodeLists, problem) -> PlanRecord:
    el = f.el
    ident = el.find(_q("identifikasjon"))
    nasjonal = el.find(_q("nasjonalArealplanId"))
    if nasjonal is None:
        nasjonal = el.find(_q("arealplanId"))
    kommune = _text(nasjonal, "kommunenummer")
    if kommune is not None and not _KOMMUNENUMMER_RE.match(kommune):
        problem(
            f.where,
            f"kommunenummer {kommune!r} is not a four-digit municipality number; "
            "the plan is stored without one",
            False,
        )
        kommune = None
    plan_id = _text(nasjonal, "planidentifikasjon", "planId")
    name = _text(el, "plannavn")
    if not name:
        problem(f.where, "has no plannavn", True)
    plan_type = _int(_text(el, "plantype"))
    status = _int(_text(el, "planstatus"))
    for label, code, table in (
        ("plantype", plan_type, codes.plan_types),
        ("planstatus", status, codes.plan_statuses),
    ):
        if code is not None and code not in table:
            problem(
                f.where, f"{label} {code} is not in the code list; stored without a name", False
            )
    decision_raw = _text(el, "vedtakEndeligPlanDato")
    decision = _date(decision_raw)
    if decision_raw and decision is None:
        problem(f.where, f"vedtakEndeligPlanDato {decision_raw!r} is not a date; left out", False)
    lokal = _text(ident, "lokalId")
    return PlanRecord(
        id=plan_key(kommune, plan_id, lokal or f.gml_id or "plan"),
        plan_id=plan_id,
        name=name or "",
        plan_type=plan_type,
        plan_type_name=codes.plan_types.get(plan_type) if plan_type is not None else None,
        status=status,
        status_name=codes.plan_statuses.get(status) if status is not None else None,
        decision_date=decision,
        kommunenummer=kommune,
        lokal_id=lokal,
        namespace=_text(ident, "navnerom"),
        version_id=_text(ident, "versjonId"),
        updated=_text(el, "oppdateringsdato"),
        gml_id=f.gml_id,
    )


def _land_use_record(
    f: _Feature, plan: PlanRecord, codes: CodeLists, geoms: dict, problem
) -> LandUseRecord | None:
    el = f.el
    raw = _text(el, "arealformål")
    code = _int(raw)
    if raw is None:
        problem(f.where, "has no arealformål", True)
    elif code is None or code not in codes.land_use:
        problem(
            f.where,
            f"arealformål {raw!r} is not in the code list RpArealformål "
            "(layers/land_use_codes.toml)",
            True,
        )
    if "område" not in geoms:
        if not any(_local(p.tag) == "område" for p in el):
            problem(f.where, "has no område (its surface)", True)
        return None  # the geometry problem is reported already
    if code is None or code not in codes.land_use:
        return None
    geometry, epsg = geoms["område"]
    ident = el.find(_q("identifikasjon"))
    lokal = _text(ident, "lokalId")
    utype = _int(_text(el, "utnyttingstype"))
    if utype is not None and utype not in codes.utilisation_types:
        problem(f.where, f"utnyttingstype {utype} is not in the code list; kept as a number", False)
    ownership = _int(_text(el, "eierform"))
    accuracy_cm = _float(_text(el.find(_q("kvalitet")), "nøyaktighet"))
    return LandUseRecord(
        id=f"{plan.id}/{lokal or f.gml_id}",
        code=code,
        name=codes.land_use[code].name,
        field_name=_text(el, "feltnavn"),
        ownership=ownership,
        description=_text(el, "beskrivelse"),
        utilisation_type=utype,
        utilisation_type_name=codes.utilisation_types.get(utype) if utype is not None else None,
        utilisation=_float(_text(el, "utnyttingstall")),
        utilisation_min=_float(_text(el, "utnyttingstall_minimum")),
        accuracy_m=accuracy_cm / 100 if accuracy_cm else None,  # SOSI nøyaktighet is in cm
        geometry=_to_multipolygon(_storage(geometry, epsg)),
        gml_id=f.gml_id,
        lokal_id=lokal,
        where=f.where,
    )


def _check_boundaries(f: _Feature, geoms: dict, ids: dict, problem) -> None:
    """The boundary lines an area names (``avgrensesAv``) must lie on its boundary: a line that
    strays is a fault in the file's topology, harmless to geoplan, which stores the surface."""
    area = geoms.get(f.el, {}).get("område")
    if area is None:
        return
    outline = area[0].boundary
    for link in f.el.findall(_q("avgrensesAv")):
        href = link.get(_q("href", XLINK)) or ""
        target = ids.get(href[1:]) if href.startswith("#") else None
        line = geoms.get(target, {}).get("grense") if target is not None else None
        if line is None:
            continue
        off = max(outline.distance(Point(xy)) for xy in line[0].coords)
        if off > BOUNDARY_TOLERANCE_M:
            problem(
                f.where,
                f"its boundary line {_local(target.tag)} gml:id={href[1:]} (avgrensesAv, line "
                f"{target.sourceline}) strays up to {off:.3f} m from the area's own outline; "
                "geoplan stores the area's surface, not its boundary lines",
                False,
            )


def _storage(geom: BaseGeometry, epsg: int) -> BaseGeometry:
    transformer = _to_storage(ALLOWED_EPSG[epsg])
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(*xy.T)))


def _to_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(parts)
