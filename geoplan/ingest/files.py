"""``geoplan import``: a file (GeoJSON, GeoPackage, Shapefile, CSV) in any CRS into one layer.

Three stages, each all-or-nothing: read the file into a GeoDataFrame, validate every row
(:mod:`geoplan.ingest.validation`, which lists every problem with its row number), and write all
rows in the caller's transaction (:mod:`geoplan.ingest.writer`). A file with one bad row imports
nothing."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import pyogrio
import shapely
from pyproj import CRS

from geoplan.errors import ValidationError
from geoplan.geo.crs import parse_crs
from geoplan.ingest.archives import ZipLimits, open_zip
from geoplan.ingest.geocoding import GEOCODED_LAYERS, geocode_rows, record_positions
from geoplan.ingest.validation import (
    NUL_MESSAGE,
    ProvenanceDefaults,
    RowError,
    RowValidationError,
    prepare,
    region_for,
)
from geoplan.ingest.writer import Progress, WriteResult, write_layer
from geoplan.layers.spec import LAT_NAMES, LON_NAMES, X_NAMES, Y_NAMES, layer_spec, normalise_name

FORMATS: dict[str, str] = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".zip": "zipped Shapefile",
    ".csv": "CSV",
    ".tsv": "CSV",
    ".txt": "CSV",
}
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom")
DEFAULT_XY_CRS = "EPSG:25833"


@dataclass
class ImportOptions:
    """What ``geoplan import`` can be told beyond the file itself."""

    crs: str | None = None  # sets (overrides) the file's CRS; CSV lon/lat default to EPSG:4326
    replace: bool = False  # delete the layer's rows that are not in the file
    make_valid: bool = False  # repair invalid geometries instead of rejecting them
    provenance: ProvenanceDefaults = field(default_factory=ProvenanceDefaults)
    sublayer: str | None = None  # which layer of a multi-layer GeoPackage
    actor: str | None = None  # who imports (premises history)


@dataclass
class ImportResult:
    path: Path
    layer: str
    read: int
    write: WriteResult
    notes: list[str]


BINARY_SHARE = 0.05
"""A "CSV" whose first 64 KiB hold more than this share of control bytes (other than tab and
line ends) is binary data: refused as a whole rather than reported cell by cell."""
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))


def _csv_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM) or Windows-1252 (Excel on Norwegian
    Windows); an empty or binary file is refused in one line."""
    raw = path.read_bytes()
    if not raw.strip():
        raise ValidationError(f"{path.name}: the file is empty; nothing was imported", "path")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError(
            f"{path.name}: UTF-16 text; save it as CSV in UTF-8 (Excel: CSV UTF-8)", "path"
        )
    head = raw[: 64 * 1024]
    first_line = head.split(b"\n", 1)[0]
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if b"\x00" in first_line or controls > BINARY_SHARE * len(head):
        raise ValidationError(
            f"{path.name}: binary data, not a CSV text file; nothing was imported", "path"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{path.name}: not text in UTF-8 or Windows-1252 (byte {exc.start}); "
            "nothing was imported",
            "path",
        ) from None


def _csv_frame(name: str, text: str) -> pd.DataFrame:
    """The CSV's cells as text (empty cells None), one row per data row.

    Read with :mod:`csv` rather than pandas so that a malformed file is named precisely: an
    unterminated quote by the line where its row starts, a row with more or fewer cells than
    the header by its row number (pandas would shift a longer row's cells into the wrong columns
    and pad a shorter one). Blank lines are skipped and not counted, as before.
    """
    first = text.split("\n", 1)[0]
    try:
        sep = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    rows: list[list[str]] = []
    ragged: list[RowError] = []
    header: list[str] | None = None
    starts = 1
    try:
        for cells in reader:
            if not cells or not any(c.strip() for c in cells):
                starts = reader.line_num + 1
                continue
            if header is None:
                header = cells
            else:
                rows.append(cells)
                if len(cells) != len(header):
                    ragged.append(
                        RowError(
                            len(rows),
                            None,
                            f"{len(cells)} cells, but the header has {len(header)} "
                            f"(line {starts}"
                            + (
                                "; a separator inside an unquoted value?)"
                                if len(cells) > len(header)
                                else ")"
                            ),
                        )
                    )
            starts = reader.line_num + 1
    except csv.Error as exc:
        what = (
            'a quoted value is never closed (an unterminated ")'
            if "unexpected end of data" in str(exc)
            else f"not valid CSV ({exc})"
        )
        raise ValidationError(
            f"{name}: line {starts}: {what}; nothing was imported", "path"
        ) from None
    if header is None:
        raise ValidationError(f"{name}: the file is empty; nothing was imported", "path")
    if ragged:
        raise RowValidationError(name, ragged)
    columns, seen = [], {}
    for i, c in enumerate(header):  # as pandas names them: "Unnamed: 3", "name.1"
        c = c if c.strip() else f"Unnamed: {i}"
        n = seen.get(c, 0)
        seen[c] = n + 1
        columns.append(c if n == 0 else f"{c}.{n}")
    df = pd.DataFrame(rows, columns=columns, dtype=object)
    return df.replace("", None)


def _read_csv(
    path: Path, crs: str | None, layer: str | None = None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    df = _csv_frame(path.name, _csv_text(path))
    norm = {normalise_name(c): c for c in df.columns}
    notes: list[str] = []

    def pick(names: tuple[str, ...]) -> str | None:
        return next((norm[n] for n in names if n in norm), None)

    lon, lat = pick(LON_NAMES), pick(LAT_NAMES)
    x, y = pick(X_NAMES), pick(Y_NAMES)
    wkt = pick(WKT_NAMES)
    if lon and lat:
        cols: tuple[str, ...] = (lon, lat)
    elif x and y:
        cols = (x, y)
    elif wkt:
        cols = (wkt,)
    elif layer in GEOCODED_LAYERS:
        # no coordinates at all: every row is placed by its address (geoplan.ingest.geocoding)
        gdf = gpd.GeoDataFrame(
            df, geometry=gpd.GeoSeries([None] * len(df)), crs=crs or DEFAULT_XY_CRS
        )
        gdf.attrs["coordinate_columns"] = ()
        return gdf, ["no coordinate columns: every row is placed at its address"]
    else:
        raise ValidationError(
            f"{path.name}: no coordinate columns; name them lon/lat (or lng, longitude, "
            "latitude), x/y (or east/north, easting/northing) or give a wkt column",
            field="geometry",
        )
    if len(cols) == 2:

        def num(col: str) -> pd.Series:
            return pd.to_numeric(
                df[col].str.strip().str.replace(",", ".", regex=False), errors="coerce"
            )

        xs, ys = num(cols[0]), num(cols[1])
        geoms = shapely.points(xs.to_numpy(), ys.to_numpy())
        geoms[xs.isna().to_numpy() | ys.isna().to_numpy()] = None
    else:
        geoms = shapely.from_wkt(df[cols[0]].to_numpy(), on_invalid="ignore")
    if not crs:
        if lon and lat:
            crs = "EPSG:4326"
        else:
            # Without --crs: values that fit degrees are WGS84, anything else is read as
            # geoplan's storage CRS; the region check catches a wrong guess and suggests --crs.
            xy = shapely.get_coordinates(geoms)
            degrees = len(xy) > 0 and bool(
                (abs(xy[:, 0]) <= 180).all() and (abs(xy[:, 1]) <= 90).all()
            )
            crs = "EPSG:4326" if degrees else DEFAULT_XY_CRS
            notes.append(f"{'/'.join(cols)} read as {crs} (pass --crs to change)")
    gdf = gpd.GeoDataFrame(df.drop(columns=list(cols)), geometry=gpd.GeoSeries(geoms), crs=crs)
    gdf.attrs["coordinate_columns"] = cols
    return gdf, notes


MAX_ZIPPED_BYTES = 2 * 1024**3
"""Cap on what a zipped Shapefile may inflate to (:mod:`geoplan.ingest.archives`)."""


def _gdal_message(exc: Exception, path: Path) -> str:
    """GDAL's complaint in one line, without the full path or its driver-prefix advice."""
    text = " ".join(str(exc).split()).replace(f"'{path}' ", "").replace(str(path), path.name)
    return text.split("; It might help", 1)[0].rstrip(".") or type(exc).__name__


def _refuse_nul_text(path: Path) -> None:
    """A GeoJSON text value holding a NUL character (``\\u0000``) is refused naming its row:
    GDAL would silently cut the text at it, and PostgreSQL cannot store it."""
    raw = path.read_bytes()
    if not re.search(rb"\\u0000", raw, re.IGNORECASE):
        return
    try:
        doc = json.loads(raw)
    except ValueError:
        return  # not JSON at all: GDAL says so
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        features = [doc]
    errors = []
    for row, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        for name, value in (props or {}).items():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and "\x00" in v for v in values):
                errors.append(RowError(row, name, NUL_MESSAGE.format(name=name)))
    if errors:
        raise RowValidationError(path.name, errors)


def read_input(
    path: Path, *, crs: str | None = None, sublayer: str | None = None, layer: str | None = None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read ``path`` into a GeoDataFrame in the file's own CRS (``crs`` overrides it)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValidationError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; "
            "use .geojson, .gpkg, .shp (or a zipped Shapefile) or .csv",
            field="path",
        )
    if FORMATS[suffix] == "CSV":
        return _read_csv(path, crs, layer)
    notes: list[str] = []
    if suffix == ".zip":  # GDAL inflates it: the zip guard first, like every zip geoplan reads
        zf, _ = open_zip(path, ZipLimits(MAX_ZIPPED_BYTES), contents="Shapefile")
        zf.close()
    if FORMATS[suffix] == "GeoJSON":
        _refuse_nul_text(path)
    try:
        if suffix == ".gpkg" and sublayer is None:
            names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
            if len(names) > 1:
                if layer in names:
                    sublayer = layer
                else:
                    raise ValidationError(
                        f"{path.name} holds several layers ({', '.join(names)}); "
                        "choose one with --source-layer",
                        field="source_layer",
                    )
        gdf = gpd.read_file(path, layer=sublayer, engine="pyogrio")
    except ValidationError:
        raise
    except Exception as exc:  # pyogrio/GDAL raise their own types for unreadable files
        raise ValidationError(
            f"{path.name}: cannot read the file as {FORMATS[suffix]}: {_gdal_message(exc, path)}",
            field="path",
        ) from None
    if crs:
        if gdf.crs is not None and CRS(gdf.crs) != CRS(crs):
            notes.append(f"the file says {gdf.crs.to_string()}; using --crs {crs}")
        gdf = gdf.set_crs(crs, allow_override=True)
    return gdf, notes


def import_file(
    conn: psycopg.Connection,
    path: Path,
    layer: str,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Read, validate and write one file into ``layer`` inside the caller's transaction."""
    options = options or ImportOptions()
    spec = layer_spec(layer)
    path = Path(path)
    # --crs in any spelling pyproj knows, normalised (EPSG:25832) for geopandas and messages
    crs = None if options.crs is None else parse_crs(options.crs, definitions=True).srs
    report = progress or (lambda *_: None)
    report("reading", 0, None)
    gdf, notes = read_input(path, crs=crs, sublayer=options.sublayer, layer=layer)
    n = len(gdf)
    report("reading", n, n)
    if n == 0:
        raise ValidationError(f"{path.name}: the file has no rows; nothing was imported")
    area = region_for(conn, layer)
    gdf, geocoded = geocode_rows(conn, gdf, spec, area, path.name)
    report("validating", 0, n)
    prepared = prepare(
        gdf,
        spec,
        region=area,
        source_name=path.name,
        crs=crs,
        make_valid=options.make_valid,
        defaults=options.provenance,
        earlier=geocoded.errors,
    )
    placed = record_positions(prepared, geocoded)
    if placed:
        notes.append(
            f"{placed} row{'s' if placed != 1 else ''} without coordinates placed at "
            f"{'their' if placed != 1 else 'its'} address (exact match in the address register; "
            "see each row's source)"
        )
    report("validating", n, n)
    try:
        result = write_layer(
            conn,
            prepared,
            replace=options.replace,
            actor=options.actor or f"import {path.name}",
            progress=progress,
        )
    except psycopg.errors.IntegrityError as exc:
        diag = exc.diag.message_primary or str(exc)
        raise ValidationError(
            f"{path.name}: the database refused the rows ({diag}); nothing was imported"
        ) from exc
    return ImportResult(path, layer, n, result, notes + prepared.notes)
