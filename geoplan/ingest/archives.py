"""Zip archives geoplan reads — GTFS feeds, NeTEx deliveries, zipped Shapefiles — checked before
anything in them is inflated.

A zip bomb is a small file that inflates to gigabytes: a 300 KB GTFS feed expanded to 1.7 GB of
memory before this guard existed. Every zip geoplan opens goes through :func:`open_zip`, which
refuses, naming the file and member:

* a zip whose directory cannot be read (a truncated or damaged download);
* encrypted members, and members compressed with anything but deflate (or stored): Python
  inflates bzip2 and LZMA members in one piece whatever size they declare;
* a member that would inflate more than ``max_ratio``-fold (members under
  :data:`RATIO_FROM_BYTES` excepted: a tiny file may compress very well);
* members that together would inflate to more than ``max_bytes``.

The checks read the sizes the zip declares. A member that lies about its size cannot get past
them either: Python's ``ZipExtFile`` never yields more than the declared size, and
:func:`read_member` reads in bounded chunks, so even a lying member is never inflated in one
piece (its checksum then fails, and the read is refused as damaged).
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geoplan.errors import ValidationError

MAX_RATIO = 250.0
"""Cap on uncompressed ÷ compressed size of one member. Real data is repetitive but not that
repetitive: the NeTEx line files of Ruter's AOR export inflate up to 48-fold, ``bench.netex``'s
file of journeys repeated twelve times 113-fold, GTFS ``stop_times.txt`` 10–30-fold; deflate
cannot exceed ≈ 1030-fold, which is what bombs use."""
RATIO_FROM_BYTES = 1024**2
"""Members smaller than this are not ratio-checked (a tiny file may compress very well)."""
CHUNK_BYTES = 1024**2
""":func:`read_member` inflates at most this much at a time."""
READABLE = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True)
class ZipLimits:
    """How much a zip's selected members may inflate to, in total and each in ratio."""

    max_bytes: int
    max_ratio: float = MAX_RATIO


def open_zip(
    path: Path,
    limits: ZipLimits,
    *,
    contents: str = "contents",
    select: Callable[[zipfile.ZipInfo], bool] | None = None,
) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """``path`` opened as a zip, and its members that ``select`` picks (default: every file),
    each checked as the module says. ``contents`` names what they hold in messages ("XML").

    Raises :class:`ValidationError` naming ``path`` (and the member); the caller closes the
    returned ``ZipFile``.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ValidationError(
            f"{path.name}: not a readable zip file (truncated or damaged download?): {exc}",
            field="path",
        ) from None
    try:
        members = check_members(path.name, zf, limits, contents=contents, select=select)
    except BaseException:
        zf.close()
        raise
    return zf, members


def check_members(
    name: str,
    zf: zipfile.ZipFile,
    limits: ZipLimits,
    *,
    contents: str = "contents",
    select: Callable[[zipfile.ZipInfo], bool] | None = None,
) -> list[zipfile.ZipInfo]:
    """The members of an open zip that ``select`` picks, checked against ``limits``."""
    members, total = [], 0
    for info in zf.infolist():
        if info.is_dir() or (select is not None and not select(info)):
            continue
        if info.flag_bits & 0x1:
            raise ValidationError(f"{name}: {info.filename} is encrypted", field="path")
        if info.compress_type not in READABLE:
            raise ValidationError(
                f"{name}: {info.filename} is compressed with method {info.compress_type}; "
                "geoplan reads zips compressed with deflate (re-zip it with `zip`)",
                field="path",
            )
        size = info.file_size
        ratio = size / max(info.compress_size, 1)
        if size >= RATIO_FROM_BYTES and ratio > limits.max_ratio:
            raise ValidationError(
                f"{name}: {info.filename} would inflate {ratio:.0f}-fold "
                f"({size:,} bytes from {info.compress_size:,}); refused as a possible zip "
                f"bomb (limit {limits.max_ratio:g}-fold)",
                field="path",
            )
        total += size
        if total > limits.max_bytes:
            raise ValidationError(
                f"{name}: its {contents} inflates to more than {limits.max_bytes:,} bytes; "
                "refused as a possible zip bomb",
                field="path",
            )
        members.append(info)
    return members


def read_member(name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A checked member's bytes, inflated :data:`CHUNK_BYTES` at a time (never more than its
    declared size); a damaged member (bad checksum, broken deflate stream) is refused naming it.
    """
    parts: list[bytes] = []
    try:
        with zf.open(info) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                parts.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ValidationError(
            f"{name}: {info.filename} is damaged in the zip ({exc})", field="path"
        ) from None
    return b"".join(parts)
