"""Turning a GeoDataFrame read from a file into rows a layer table accepts, or a list of errors.

Every problem is collected with its row number (1 = the first feature/data row of the file,
in file order; a CSV header is not counted) so one run tells the user everything that is wrong.
Nothing here writes: :func:`prepare` either returns a :class:`PreparedLayer` or raises
:class:`RowValidationError`, and the caller writes all rows or none.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

from geoplan.config import STORAGE_SRID
from geoplan.errors import ValidationError
from geoplan.geo import region as regions
from geoplan.geo.region import Region
from geoplan.layers.spec import (
    MAX_UNITS,
    ColumnSpec,
    LayerSpec,
    ProvenanceDefaults,
    normalise_name,
)

SHOW_ERRORS = 20
"""How many row errors a message lists before it says "... and N more"."""

NUL_MESSAGE = (
    "{name} contains a NUL character (\\u0000), which no text column can store; "
    "remove it (binary data in a text file?)"
)
TRUE_WORDS = {"true", "t", "yes", "y", "1", "ja", "j", "sann", "x"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "nei", "usann", ""}


@dataclass
class RowError:
    row: int | None  # 1-based; None for problems of the whole file
    column: str | None
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}" if self.row is not None else self.message


class RowValidationError(ValidationError):
    """A file failed validation; ``str()`` is a summary line followed by the first errors."""

    def __init__(self, source: str, errors: list[RowError]):
        rows = sorted({e.row for e in errors if e.row is not None})
        what = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        if rows:
            what += f" in {len(rows)} row{'s' if len(rows) != 1 else ''}"
        if len(errors) == 1:
            # The one error is the whole message; listing it again under the head repeats it.
            head, lines = f"{source}: {what}, nothing was imported: {errors[0]}", []
        else:
            head = f"{source}: {what}, nothing was imported (first: {errors[0]})"
            lines = [f"  {e}" for e in errors[:SHOW_ERRORS]]
            if len(errors) > SHOW_ERRORS:
                lines.append(f"  ... and {len(errors) - SHOW_ERRORS} more")
        super().__init__(
            "\n".join([head, *lines]),
            field=errors[0].column,
            errors=[{"field": e.column, "row": e.row, "message": e.message} for e in errors],
        )
        self.row_errors = errors


@dataclass
class PreparedLayer:
    """Validated rows, ready to copy: python values per column and WKB geometries (25833)."""

    spec: LayerSpec
    columns: dict[str, list[Any]]
    wkb: list[bytes]
    repaired: int = 0
    notes: list[str] = field(default_factory=list)
    # each row's units (checked, in order; [] none) when the file has a units column, else None:
    # the stored units are left as they are
    units: list[list[dict[str, Any]]] | None = None

    def __len__(self) -> int:
        return len(self.wkb)


def region_for(conn: psycopg.Connection, layer: str, margin_m: float | None = None) -> Region:
    """Where rows of ``layer`` may lie: within ``margin_m`` (default ``region_margin_m``) of the
    municipality (see :mod:`geoplan.geo.region`).

    The boundary layer itself is checked against Norway (the national register's envelope; the
    fallback Lørenskog envelope before the register is loaded), so any municipality's boundary
    can be imported and replacing the boundary cannot be blocked by the boundary being replaced.
    """
    if layer == "boundary":
        return regions.boundary_region(conn, margin_m)
    return regions.region(conn, margin_m)


# -- column mapping ----------------------------------------------------------------------------
def map_columns(columns: list[str], spec: LayerSpec) -> dict[str, str]:
    """Target column -> source column, by name or alias, case-insensitive.

    A source name of exactly 10 characters also matches a longer name it is the start of:
    Shapefiles cut field names to 10 characters (``floor_area_m2`` arrives as ``floor_area``).
    """
    by_norm: dict[str, str] = {}
    for c in columns:
        by_norm.setdefault(normalise_name(c), c)
    out: dict[str, str] = {}
    for col in spec.columns:
        names = [normalise_name(n) for n in (col.name, *col.aliases)]
        hit = next((by_norm[n] for n in names if n in by_norm), None)
        if hit is None:
            hit = next(
                (
                    src
                    for norm, src in by_norm.items()
                    if len(norm) == 10 and any(n.startswith(norm) for n in names)
                ),
                None,
            )
        if hit is not None:
            out[col.name] = hit
    return out


UNITS_NAMES = ("units", "lokaler", "enheter", "spaces")
"""Names of the column holding a listing's units: a JSON array of objects (``label``,
``area_m2``, …), as GeoJSON carries it or as text in a CSV or GeoPackage cell."""


def _units_column(columns: list[str]) -> str | None:
    names = {normalise_name(c): c for c in columns}
    return next((names[n] for n in UNITS_NAMES if n in names), None)


def _parse_units(raw: pd.Series, spec: LayerSpec, errs: _Collector) -> list[list[dict[str, Any]]]:
    """Each row's units, checked field by field as a layer's columns are (the unit fields of
    ``spec``); errors name the row and ``units[i].field``."""
    flat: list[dict[str, Any]] = []
    owner: list[tuple[int, int]] = []  # (row, index within the row) of each flat unit
    out: list[list[dict[str, Any]]] = [[] for _ in range(len(raw))]
    known = {c.name for c in spec.unit_fields}
    for row, v in enumerate(raw.tolist()):
        if (
            v is None
            or (isinstance(v, float) and np.isnan(v))
            or (isinstance(v, str) and not v.strip())
        ):
            continue
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except json.JSONDecodeError:
                errs.errors.append(RowError(row + 1, "units", "units is not a JSON array"))
                continue
        if not isinstance(v, list | tuple) or not all(isinstance(u, dict) for u in v):
            errs.errors.append(
                RowError(row + 1, "units", "units must be a list of objects (label, area_m2, …)")
            )
            continue
        if len(v) > MAX_UNITS:
            errs.errors.append(RowError(row + 1, "units", f"at most {MAX_UNITS} units a listing"))
            continue
        for i, unit in enumerate(v):
            for key in unit:
                if key not in known:
                    errs.errors.append(
                        RowError(
                            row + 1,
                            f"units[{i}].{key}",
                            f"units[{i}].{key} is not a field of a unit ({', '.join(known)})",
                        )
                    )
            flat.append(unit)
            owner.append((row, i))
    if not flat:
        return out
    frame = pd.DataFrame(flat, columns=[c.name for c in spec.unit_fields], dtype=object)
    sub = _Collector()
    parsed = {}
    for col in spec.unit_fields:
        values = _parse_column(frame[col.name], col, sub)
        if col.default is not None:
            values = [col.default if v is None else v for v in values]
        if col.required:
            empty = np.array([v is None for v in values], dtype=bool) & ~sub.reported(
                col.name, len(values)
            )
            sub.rows(empty, col.name, lambda _i, c=col.name: f"{c} is empty")
        parsed[col.name] = values
    for e in sub.errors:
        row, i = owner[e.row - 1]
        errs.errors.append(RowError(row + 1, f"units[{i}].{e.column}", f"units[{i}]: {e.message}"))
    for k, (row, _i) in enumerate(owner):
        out[row].append({name: parsed[name][k] for name in parsed})
    for row, units in enumerate(out):
        labels = [str(u["label"]).casefold() for u in units if u["label"] is not None]
        if len(labels) != len(set(labels)):
            errs.errors.append(RowError(row + 1, "units", "two units have the same label"))
    return out


# -- value parsing (vectorised where it matters) -----------------------------------------------
def _is_missing(values: pd.Series) -> np.ndarray:
    miss = values.isna().to_numpy()
    if values.dtype == object:
        blank = values.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
        miss = miss | blank
    return miss


def _numbers(values: pd.Series) -> pd.Series:
    if values.dtype == object:
        # Norwegian spreadsheets write "1 200,5"; accept that next to "1200.5".
        values = values.map(
            lambda v: re.sub(r"[\s\u00a0]", "", v).replace(",", ".") if isinstance(v, str) else v
        )
    return pd.to_numeric(values, errors="coerce")


def _shown(v: Any) -> str:
    """A cell as a message quotes it: text in quotes, a number read from GeoJSON as is."""
    if isinstance(v, float | np.floating | int | np.integer) and not isinstance(v, bool):
        return f"{float(v):g}"
    return repr(v)


def _parses_as_float(v: Any) -> bool:
    """Whether ``v`` is a float or text Python reads as one (``inf``, ``NaN``, ``1e999``)."""
    if isinstance(v, float | np.floating):
        return True
    try:
        float(re.sub(r"[\s\u00a0]", "", str(v)).replace(",", "."))
    except ValueError:
        return False
    return True


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v).strip()
    return s or None


def split_list(v: Any) -> list[str]:
    """A list cell: a JSON array, a GeoJSON/GPKG list, or text separated by ; | or ,."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, list | tuple | np.ndarray):
        items = list(v)
    else:
        s = str(v).strip()
        if s.startswith("["):
            try:
                items = json.loads(s)
            except json.JSONDecodeError:
                items = s.strip("[]").split(",")
        elif s.startswith("{") and s.endswith("}"):  # PostgreSQL array literal
            items = s[1:-1].split(",")
        else:
            sep = ";" if ";" in s else "|" if "|" in s else ","
            items = s.split(sep)
    return [t for t in (str(i).strip().strip('"') for i in items) if t]


def _vocab(value: str, col: ColumnSpec) -> str:
    v = value.strip().lower()
    return col.value_aliases.get(v, v.replace(" ", "_").replace("-", "_"))


class _Collector:
    def __init__(self) -> None:
        self.errors: list[RowError] = []

    def rows(self, mask: np.ndarray, column: str | None, message) -> None:
        """Add an error for each row where ``mask``; ``message(i)`` builds the text."""
        for i in np.flatnonzero(mask):
            self.errors.append(RowError(int(i) + 1, column, message(int(i))))

    def reported(self, column: str, n: int) -> np.ndarray:
        """A mask of the ``n`` rows that already have an error in ``column``.

        A cell that could not be parsed (``abc`` as a number) becomes None; without this, a
        required column would report the same cell a second time as empty.
        """
        mask = np.zeros(n, dtype=bool)
        rows = [e.row - 1 for e in self.errors if e.column == column and e.row is not None]
        mask[rows] = True
        return mask


def _parse_column(raw: pd.Series, col: ColumnSpec, errs: _Collector) -> list[Any]:
    """Parse one column to python values (None for missing), adding row errors."""
    missing = _is_missing(raw)
    name = col.name
    if col.kind in ("float", "int"):
        num = _numbers(raw)
        arr = num.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(arr)
        # Infinity and NaN parse as numbers (pandas, GDAL's JSON reader) but are none: stored,
        # they would turn sums into NaN and JSON into invalid documents.
        bad = ~missing & ~finite
        errs.rows(
            bad,
            name,
            lambda i: (
                f"{name} is not a finite number ({_shown(raw.iloc[i])})"
                if _parses_as_float(raw.iloc[i])
                else f"{name} is not a number ({_shown(raw.iloc[i])})"
            ),
        )
        ok = ~missing & ~bad
        if col.kind == "int":
            frac = ok & (np.mod(np.nan_to_num(arr), 1) != 0)
            errs.rows(frac, name, lambda i: f"{name} must be a whole number ({raw.iloc[i]!r})")
        if col.not_future:
            late = ok & np.array([col.future(v) is not None for v in arr], dtype=bool)
            errs.rows(late, name, lambda i: f"{name} {col.future(arr[i])} ({arr[i]:g})")
        if col.min_value is not None:
            low = ok & (arr <= col.min_value if col.min_exclusive else arr < col.min_value)
            rel = ">" if col.min_exclusive else "≥"
            kind = "negative" if col.min_value == 0 and not col.min_exclusive else "too small"
            if col.min_value == 0 and col.min_exclusive:
                kind = "zero or negative"
            errs.rows(
                low,
                name,
                lambda i: f"{name} is {kind} ({arr[i]:g}); it must be {rel} {col.min_value:g}",
            )
        if col.max_value is not None:
            high = ok & (arr > col.max_value)
            errs.rows(
                high,
                name,
                lambda i: f"{name} is too large ({arr[i]:g}); it must be {col.range_text}",
            )
        cast = int if col.kind == "int" else float
        return [None if missing[i] or bad[i] else cast(arr[i]) for i in range(len(arr))]
    if col.kind == "bool":
        out: list[Any] = []
        for i, v in enumerate(raw.tolist()):
            if missing[i]:
                out.append(None)
            elif isinstance(v, bool | np.bool_ | int | float | np.integer | np.floating) and v in (
                0,
                1,
            ):
                out.append(bool(v))
            else:
                s = str(v).strip().lower()
                if s in TRUE_WORDS:
                    out.append(True)
                elif s in FALSE_WORDS:
                    out.append(False)
                else:
                    errs.errors.append(
                        RowError(i + 1, name, f"{name} must be true or false ({v!r})")
                    )
                    out.append(None)
        return out
    if col.kind == "date":
        if pd.api.types.is_datetime64_any_dtype(raw):
            parsed = raw
        else:
            text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
            nordic = pd.to_datetime(text, errors="coerce", format="%d.%m.%Y")
            parsed = parsed.fillna(nordic)
        bad = ~missing & parsed.isna().to_numpy()
        errs.rows(bad, name, lambda i: f"{name} is not a date like 2026-03-01 ({raw.iloc[i]!r})")
        return [
            None if missing[i] or bad[i] else pd.Timestamp(parsed.iloc[i]).date()
            for i in range(len(raw))
        ]
    if col.kind == "text[]":
        out = []
        for i, v in enumerate(raw.tolist()):
            items = [] if missing[i] else split_list(v)
            if any("\x00" in t for t in items):
                errs.errors.append(RowError(i + 1, name, NUL_MESSAGE.format(name=name)))
                out.append([])
                continue
            if col.allowed is not None:
                items = [_vocab(t, col) for t in items]
                unknown = [t for t in items if t not in col.allowed]
                if unknown:
                    errs.errors.append(
                        RowError(
                            i + 1,
                            name,
                            f"unknown {name} {', '.join(map(repr, unknown))}; "
                            f"allowed: {', '.join(col.allowed)}",
                        )
                    )
            out.append(list(dict.fromkeys(items)))
        return out
    # text
    values = [None if missing[i] else _text(v) for i, v in enumerate(raw.tolist())]
    for i, v in enumerate(values):
        if v is not None and "\x00" in v:
            errs.errors.append(RowError(i + 1, name, NUL_MESSAGE.format(name=name)))
            values[i] = None
    if col.allowed is not None:
        for i, v in enumerate(values):
            if v is None:
                continue
            norm = _vocab(v, col)
            if norm in col.allowed:
                values[i] = norm
            else:
                errs.errors.append(
                    RowError(
                        i + 1, name, f"unknown {name} {v!r}; allowed: {', '.join(col.allowed)}"
                    )
                )
    if col.pattern is not None:
        rule = re.compile(col.pattern)
        for i, v in enumerate(values):
            if v is not None and not rule.fullmatch(v):
                errs.errors.append(
                    RowError(
                        i + 1,
                        name,
                        f"{name} {v!r} is not valid; it must be "
                        f"{col.pattern_hint or 'like ' + col.pattern}",
                    )
                )
                values[i] = None
    return values


# -- geometry ----------------------------------------------------------------------------------
def _polygonal(g: shapely.Geometry) -> shapely.Geometry | None:
    """The polygon parts of ``g`` as one MultiPolygon (None when it has none)."""
    if g is None or g.is_empty:
        return None
    if g.geom_type == "Polygon":
        return shapely.MultiPolygon([g])
    if g.geom_type == "MultiPolygon":
        return g
    if g.geom_type == "GeometryCollection":
        parts = [part for sub in g.geoms if (m := _polygonal(sub)) is not None for part in m.geoms]
        return shapely.MultiPolygon(parts) if parts else None
    return None


def _prepare_geometry(
    gdf: gpd.GeoDataFrame,
    spec: LayerSpec,
    crs: str | None,
    make_valid: bool,
    region: Region,
    errs: _Collector,
    unplaced: np.ndarray | None = None,
) -> tuple[np.ndarray, int, int]:
    if crs:
        gdf = gdf.set_crs(crs, allow_override=True)
    elif gdf.crs is None:
        raise ValidationError(
            "the file has no coordinate reference system; pass --crs (e.g. --crs EPSG:25833)",
            field="crs",
        )
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    coord_cols = gdf.attrs.get("coordinate_columns")
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    errs.rows(
        empty if unplaced is None else empty & ~unplaced,
        None,
        lambda i: (
            f"no geometry ({'/'.join(coord_cols)} empty or not a number)"
            if coord_cols
            else "no geometry"
        ),
    )
    # Heights (a Z coordinate, as GPS and 3-D CAD exports write them) mean nothing to a 2-D
    # planning layer: dropped, and the caller says so.
    with_z = ~empty & shapely.has_z(np.where(empty, None, geoms))
    dropped_z = int(with_z.sum())
    if dropped_z:
        geoms = np.where(with_z, shapely.force_2d(np.where(with_z, geoms, None)), geoms)
    with np.errstate(invalid="ignore"):
        infinite = ~empty & ~np.isfinite(shapely.bounds(np.where(empty, None, geoms))).all(axis=1)
    errs.rows(infinite, "geometry", lambda i: "coordinates are not finite numbers")
    empty |= infinite
    types = shapely.get_type_id(geoms)
    repaired = 0
    if spec.geometry == "point":
        # A MultiPoint of one point is a point (some tools write every point as multi).
        multi1 = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(multi1, shapely.get_geometry(geoms, 0), geoms)
        types = shapely.get_type_id(geoms)
        wrong = ~empty & (types != 0)
        expected = "Point"
    else:
        wrong = ~empty & ~np.isin(types, (3, 6))
        expected = "Polygon or MultiPolygon"
    errs.rows(
        wrong,
        "geometry",
        lambda i: f"geometry is {geoms[i].geom_type}, expected {expected}",
    )
    check = ~empty & ~wrong
    invalid = check & ~shapely.is_valid(np.where(check, geoms, None))
    if invalid.any():
        if make_valid:
            fixed = shapely.make_valid(geoms[invalid])
            if spec.geometry == "polygon":
                fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
            idx = np.flatnonzero(invalid)
            for i, g in zip(idx, fixed, strict=True):
                if g is None or g.is_empty or (spec.geometry == "point" and g.geom_type != "Point"):
                    errs.errors.append(
                        RowError(int(i) + 1, "geometry", "invalid geometry that cannot be repaired")
                    )
                else:
                    geoms[i] = g
                    repaired += 1
        else:
            errs.rows(
                invalid,
                "geometry",
                lambda i: (
                    f"invalid geometry ({shapely.is_valid_reason(geoms[i])}); "
                    "fix it or pass --make-valid"
                ),
            )
    # Transform to storage CRS and check the region (vectorised, see geoplan.geo.region).
    ok = ~empty & ~wrong
    series = gpd.GeoSeries(np.where(ok, geoms, None), crs=gdf.crs)
    try:
        moved = np.asarray(series.to_crs(STORAGE_SRID).values, dtype=object)
    except Exception as exc:  # pyproj raises several types for unusable CRSs
        raise ValidationError(f"cannot transform from {gdf.crs} to EPSG:25833: {exc}") from exc
    if spec.geometry == "polygon":
        moved = np.array([_polygonal(g) if g is not None else None for g in moved], dtype=object)
    outside = ok & ~region.contains(moved)
    crs_name = gdf.crs.to_string() if gdf.crs is not None else "?"

    def far(i: int) -> str:
        pt = shapely.get_coordinates(geoms[i])[0]
        fmt = ".6f" if gdf.crs is not None and gdf.crs.is_geographic else ".1f"
        return (
            f"coordinates ({pt[0]:{fmt}}, {pt[1]:{fmt}}) in {crs_name} lie outside the region "
            f"({region.description}); wrong CRS? pass --crs"
        )

    errs.rows(outside, "geometry", far)
    return moved, repaired, dropped_z


def prepare(
    gdf: gpd.GeoDataFrame,
    spec: LayerSpec,
    *,
    region: Region,
    source_name: str,
    crs: str | None = None,
    make_valid: bool = False,
    defaults: ProvenanceDefaults | None = None,
    earlier: Sequence[RowError] = (),
) -> PreparedLayer:
    """Validate ``gdf`` for ``spec``; raise :class:`RowValidationError` listing every problem.

    ``earlier``: problems found before (addresses that could not be geocoded,
    :mod:`geoplan.ingest.geocoding`), listed with the rest; their rows are not reported a
    second time for having no geometry.
    """
    defaults = defaults or ProvenanceDefaults()
    gdf = gdf.reset_index(drop=True)
    geom_name = gdf.geometry.name
    attrs = [c for c in gdf.columns if c != geom_name]
    mapping = map_columns(attrs, spec)
    units_col = _units_column(attrs) if spec.unit_fields else None
    missing = [
        c
        for c in spec.required
        if c not in mapping and not (units_col and spec.column(c).from_units)
    ]
    if missing:

        def hint(c: str) -> str:
            aliases = spec.column(c).aliases
            return f"{c} (or {', '.join(aliases)})" if aliases else c

        raise ValidationError(
            f"{source_name}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{'; '.join(hint(c) for c in missing)} for layer {spec.name}; "
            f"found: {', '.join(map(str, attrs)) or 'none'}",
            field=missing[0],
        )
    used = set(mapping.values()) | {units_col}
    ignored = [
        c for c in attrs if c not in used and c not in gdf.attrs.get("coordinate_columns", ())
    ]
    notes = [f"ignored columns: {', '.join(map(str, ignored))}"] if ignored else []

    errs = _Collector()
    errs.errors.extend(earlier)
    n = len(gdf)
    unplaced = np.zeros(n, dtype=bool)
    unplaced[[e.row - 1 for e in earlier if e.row is not None]] = True
    columns: dict[str, list[Any]] = {}
    for col in spec.columns:
        if col.name in mapping:
            columns[col.name] = _parse_column(gdf[mapping[col.name]], col, errs)
    units = _parse_units(gdf[units_col], spec, errs) if units_col else None
    has_units = np.array([bool(u) for u in units] if units else [False] * n, dtype=bool)
    for col in spec.columns:
        if col.default is not None and col.name in columns:
            columns[col.name] = [col.default if v is None else v for v in columns[col.name]]
        if col.from_units and units_col and col.name not in columns:
            columns[col.name] = [None] * n  # derived from the units by the writer
        if col.required and col.name in columns:
            vals = columns[col.name]
            empty = np.array([v is None or v == [] for v in vals], dtype=bool)
            empty &= ~errs.reported(col.name, n)
            if col.from_units:
                empty &= ~has_units  # the units decide it
            errs.rows(empty, col.name, lambda i, c=col.name: f"{c} is empty")

    # Provenance: fill what the file leaves out from the options, then from defaults.
    if defaults.accuracy_m is not None:
        col = spec.column("accuracy_m")
        value = defaults.accuracy_m
        if not (math.isfinite(value) and col.in_range(value)):
            raise ValidationError(
                f"accuracy_m must be a finite number {col.range_text}, not {value:g}",
                field="accuracy_m",
            )
    fill: dict[str, Any] = {
        "source": defaults.source or source_name,
        "source_url": defaults.source_url,
        "licence": defaults.licence,
        "accuracy_m": defaults.accuracy_m,
        "verified": defaults.verified if defaults.verified is not None else False,
        "sample": defaults.sample if defaults.sample is not None else False,
    }
    for name, value in fill.items():
        if value is None:
            continue
        if name in columns:
            columns[name] = [value if v is None else v for v in columns[name]]
        else:
            columns[name] = [value] * n
            notes.append(f"{name} = {value!r} for all rows (not in the file)")

    ids = pd.Series(columns["id"], dtype=object)
    dup = ids.notna() & ids.duplicated(keep=False)
    if dup.any():
        first_row: dict[str, int] = {}
        for i in np.flatnonzero(dup.to_numpy()):
            first_row.setdefault(ids.iloc[i], int(i) + 1)
        errs.rows(
            dup.to_numpy() & ids.duplicated(keep="first").to_numpy(),
            "id",
            lambda i: f"duplicate id {ids.iloc[i]!r} (first on row {first_row[ids.iloc[i]]})",
        )

    moved, repaired, dropped_z = _prepare_geometry(
        gdf, spec, crs, make_valid, region, errs, unplaced
    )
    if errs.errors:
        errs.errors.sort(key=lambda e: e.row or 0)
        raise RowValidationError(source_name, errs.errors)
    if dropped_z:
        rows = "row" if dropped_z == 1 else "rows"
        notes.append(
            f"dropped the height (Z coordinate) of {dropped_z} {rows}: geoplan's layers are 2-D"
        )
    if repaired:
        notes.append(f"repaired {repaired} invalid geometr{'y' if repaired == 1 else 'ies'}")
    if units is not None and has_units.any():
        derived = ", ".join(c.name for c in spec.columns if c.from_units)
        notes.append(f"{derived} of the {int(has_units.sum())} listings with units: from the units")
    return PreparedLayer(spec, columns, list(shapely.to_wkb(moved)), repaired, notes, units)
