"""Defect 7: a 300 KB GTFS zip expanded to 1.7 GB of memory. Every zip geoplan reads (GTFS,
NeTEx, zipped Shapefiles) now goes through one guard (``geoplan/ingest/archives.py``) that caps
what it may inflate to, in total and in ratio, before anything is inflated; XML (NeTEx, zoning
GML) is parsed without entity expansion or network access."""

from __future__ import annotations

import ast
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.config import REPO_ROOT
from geoplan.errors import ValidationError
from geoplan.ingest import archives
from geoplan.ingest.archives import ZipLimits, open_zip, read_member
from tests.conftest import table_counts

runner = CliRunner()
STATUS = Path("/proc/self/status")
GTFS_HEAD = {
    "routes.txt": "route_id,route_type\nR,3\n",
    "trips.txt": "route_id,service_id,trip_id\nR,WD,t\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    "start_date,end_date\nWD,1,1,1,1,1,0,0,20250303,20250309\n",
}


def peak_mib_during(call) -> float:
    """How far the process's peak memory rose while ``call()`` ran (MiB)."""

    def kib(field: str) -> int:
        return int(re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.M).group(1))

    before = kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak
    call()
    return (kib("VmHWM") - before) / 1024


def bomb_zip(path: Path, member: str, size: int, others: dict[str, str] | None = None) -> Path:
    """A zip with ``others`` and ``member``: ``size`` bytes of one repeated character (deflate
    packs it ≈ 1000-fold)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (others or {}).items():
            z.writestr(name, text)
        with z.open(member, "w") as f:
            block = b"0" * 1024**2
            for _ in range(size // len(block)):
                f.write(block)
    return path


def lying_zip(path: Path, member: str, real_size: int, claimed: int, others=None) -> Path:
    """A zip whose ``member`` says (in its local header and the central directory) that it
    inflates to ``claimed`` bytes, but holds ``real_size``."""
    bomb_zip(path, member, real_size, others)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        local = z.getinfo(member).header_offset
    assert raw[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", raw, local + 22, claimed)
    for entry in re.finditer(rb"PK\x01\x02", bytes(raw)):
        at = entry.start()
        (length,) = struct.unpack_from("<H", raw, at + 28)
        if bytes(raw[at + 46 : at + 46 + length]) == member.encode():
            struct.pack_into("<I", raw, at + 24, claimed)
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(member).file_size == claimed  # the directory now lies
    return path


def test_the_guard_refuses_by_ratio_total_and_method(tmp_path):
    bomb = bomb_zip(tmp_path / "bomb.zip", "a.txt", 16 * 1024**2)
    with pytest.raises(ValidationError, match=r"a\.txt would inflate \d+-fold .* zip bomb"):
        open_zip(bomb, ZipLimits(10 * 1024**3))
    small = tmp_path / "small.zip"
    with zipfile.ZipFile(small, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(3):
            z.writestr(f"{i}.txt", bytes(range(256)) * 4096)  # 1 MiB each, not compressible
    with pytest.raises(ValidationError, match="inflates to more than 2,097,152 bytes"):
        open_zip(small, ZipLimits(2 * 1024**2))
    bz = tmp_path / "bz.zip"
    with zipfile.ZipFile(bz, "w", zipfile.ZIP_BZIP2) as z:
        z.writestr("a.txt", "hello")
    with pytest.raises(ValidationError, match="compressed with method 12"):
        open_zip(bz, ZipLimits(1024**2))
    with pytest.raises(ValidationError, match="not a readable zip"):
        open_zip(tmp_path / "nothing.zip", ZipLimits(1))


def test_a_member_that_lies_about_its_size_is_never_inflated_whole(tmp_path):
    liar = lying_zip(tmp_path / "liar.zip", "a.txt", 256 * 1024**2, 1000)
    zf, members = open_zip(liar, ZipLimits(1024**2))
    with zf:
        grown = peak_mib_during(
            lambda: pytest.raises(ValidationError, read_member, "liar.zip", zf, members[0])
        )
    assert grown < 32, f"inflated {grown:.0f} MiB"


def test_gtfs_bombs_are_refused_before_inflating(loaded_db, tmp_path):
    before = table_counts(loaded_db)
    bomb = bomb_zip(tmp_path / "feed.zip", "stop_times.txt", 64 * 1024**2, GTFS_HEAD)
    result = runner.invoke(app, ["import-gtfs", str(bomb), "-q"])
    assert result.exit_code == 1
    assert "stop_times.txt would inflate" in result.output and "zip bomb" in result.output
    liar = lying_zip(
        tmp_path / "liar.zip",
        "stop_times.txt",
        256 * 1024**2,
        2000,
        {**GTFS_HEAD, "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,A,59.93,10.95\n"},
    )
    grown = peak_mib_during(lambda: runner.invoke(app, ["import-gtfs", str(liar), "-q"]))
    result = runner.invoke(app, ["import-gtfs", str(liar), "-q"])
    assert result.exit_code == 1 and "stop_times.txt is damaged in the zip" in result.output
    assert grown < 64, f"inflated {grown:.0f} MiB"
    assert table_counts(loaded_db) == before


def test_zipped_shapefile_bombs_are_refused(loaded_db, tmp_path):
    bomb = bomb_zip(tmp_path / "lokaler.zip", "lokaler.dbf", 16 * 1024**2, {"lokaler.shp": "x"})
    result = runner.invoke(app, ["import", str(bomb), "--layer", "premises", "-q"])
    assert result.exit_code == 1
    assert "lokaler.dbf would inflate" in result.output and "zip bomb" in result.output


def test_netex_uses_the_same_guard(loaded_db, tmp_path):
    from geoplan.ingest.netex import sources

    assert sources.open_zip is archives.open_zip
    liar = lying_zip(tmp_path / "netex.zip", "stops.xml", 128 * 1024**2, 3000)
    grown = peak_mib_during(lambda: runner.invoke(app, ["import-netex", str(liar), "-q"]))
    result = runner.invoke(app, ["import-netex", str(liar), "-q"])
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert grown < 64, f"inflated {grown:.0f} MiB"


# -- XML -----------------------------------------------------------------------------------------
LAUGHS = "".join(
    ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
)
ZONING = REPO_ROOT.parent / "shared" / "data" / "real" / "zoning" / "gml.avgr.1-pass.gml"


@pytest.mark.skipif(not ZONING.exists(), reason="the shared zoning test data is not here")
@pytest.mark.parametrize(
    "doctype",
    [
        f"<!DOCTYPE x [{LAUGHS}]>",
        '<!DOCTYPE x [<!ENTITY l9 SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE x [<!ENTITY l9 SYSTEM "http://127.0.0.1:9/x.dtd">]>',
    ],
    ids=["billion laughs", "local file", "network"],
)
def test_zoning_gml_expands_no_entity(tmp_path, doctype):
    from geoplan.zoning.importer import read_plan

    raw = ZONING.read_bytes()
    raw = raw.replace(
        b'<?xml version="1.0" encoding="utf-8"?>',
        b'<?xml version="1.0" encoding="utf-8"?>' + doctype.encode(),
    ).replace(b"<app:plannavn>String<", b"<app:plannavn>&l9;<")
    path = tmp_path / "plan.gml"
    path.write_bytes(raw)
    holder: dict = {}

    def read() -> None:
        try:
            holder["plan"] = read_plan(path)
        except ValidationError as exc:
            holder["error"] = str(exc)

    grown = peak_mib_during(read)
    assert grown < 64
    if "plan" in holder:
        text = repr(holder["plan"])
        assert "lollol" not in text and "root:" not in text
    else:
        assert "lollol" not in holder["error"] and "root:" not in holder["error"]


def test_every_xml_parser_in_geoplan_is_configured_safely():
    """A source check, so a new parser cannot slip in unsafe: lxml parsers are built with
    ``resolve_entities=False`` and ``no_network=True``; the standard library's XML modules
    (which cannot be told not to expand internal entities) are not used at all."""
    calls = 0
    for path in sorted((REPO_ROOT / "geoplan").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.startswith("xml.") or n == "xml" for n in names), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("XMLParser", "iterparse"):
                    given = {k.arg: k.value for k in node.keywords}
                    for name in ("resolve_entities", "no_network"):
                        value = given.get(name)
                        expected = name == "no_network"
                        assert isinstance(value, ast.Constant) and value.value is expected, (
                            path,
                            node.lineno,
                            name,
                        )
                    calls += 1
                if node.func.attr in ("fromstring", "XML", "parse") and (
                    isinstance(node.func.value, ast.Name) and node.func.value.id == "etree"
                ):
                    assert len(node.args) >= 2 or "parser" in {k.arg for k in node.keywords}, (
                        path,
                        node.lineno,
                    )
    assert calls >= 2  # NeTEx's iterparse, zoning's XMLParser
    assert zlib  # (the guard's checksums come from zlib)
