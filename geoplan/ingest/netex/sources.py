"""Where NeTEx documents come from: one XML file, a folder of them, or a zip (Entur's delivery).

Every document is opened as a byte stream and parsed as it streams, so nothing here holds a
whole file in memory. A zip is checked before anything is read, by the guard every zip geoplan
reads goes through (:mod:`geoplan.ingest.archives`): its directory must be readable (a truncated
download has none), and the uncompressed size of its XML documents is capped, in total and in
ratio to their compressed size, so a zip bomb is refused before it is inflated.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from geoplan.errors import ValidationError
from geoplan.ingest.archives import MAX_RATIO, RATIO_FROM_BYTES, ZipLimits, open_zip

__all__ = ["MAX_RATIO", "MAX_UNCOMPRESSED_BYTES", "RATIO_FROM_BYTES", "Document", "Source"]

MAX_UNCOMPRESSED_BYTES = 8 * 1024**3
"""Cap on the XML a zip may inflate to (8 GiB: Entur's national timetable is ≈ 3 GiB)."""


@dataclass(frozen=True)
class Document:
    """One NeTEx XML document: its name for messages and its uncompressed size."""

    name: str
    size: int
    open: Callable[[], IO[bytes]]


class Source(AbstractContextManager):
    """The NeTEx documents at ``path`` (a .xml file, a folder of .xml files, or a .zip).

    Use as a context manager: a zip stays open while its documents are read.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = MAX_UNCOMPRESSED_BYTES,
        max_ratio: float = MAX_RATIO,
    ):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_ratio = max_ratio
        self._zip: zipfile.ZipFile | None = None
        self.documents: list[Document] = []

    def __enter__(self) -> Source:
        path = self.path
        if not path.exists():
            raise FileNotFoundError(2, "No such file or directory", str(path))
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _is_xml(p.name))
            self.documents = [
                Document(str(p.relative_to(path)), p.stat().st_size, _file_opener(p)) for p in files
            ]
        elif zipfile.is_zipfile(path) or path.suffix.lower() == ".zip":
            self.documents = self._zip_documents(path)
        elif _is_xml(path.name) or _looks_like_xml(path):
            self.documents = [Document(path.name, path.stat().st_size, _file_opener(path))]
        else:
            raise ValidationError(
                f"{path.name}: not a NeTEx file (.xml), folder of them or .zip", field="path"
            )
        if not self.documents:
            raise ValidationError(f"{path.name}: no .xml documents in it", field="path")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    @property
    def total_bytes(self) -> int:
        return sum(d.size for d in self.documents)

    def _zip_documents(self, path: Path) -> list[Document]:
        zf, members = open_zip(
            path,
            ZipLimits(self.max_bytes, self.max_ratio),
            contents="XML",
            select=lambda info: _is_xml(info.filename),
        )
        self._zip = zf
        return [
            Document(f"{path.name}:{info.filename}", info.file_size, _zip_opener(zf, info))
            for info in members
        ]

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)


def _is_xml(name: str) -> bool:
    return name.lower().endswith(".xml") and not Path(name).name.startswith("._")


def _looks_like_xml(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _zip_opener(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    # ZipExtFile never yields more than the member's declared size, so the checks above hold;
    # lxml reads it in small chunks, so a member that lies about its size is never inflated
    # in one piece.
    return lambda: zf.open(info)
