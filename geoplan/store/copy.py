"""Binary COPY between PostGIS and numpy: fixed-width rows in and out without per-row Python.

A binary COPY row is its field count (int16), then each field's length (int32) and big-endian
value; numpy record arrays describe exactly that layout.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence

import numpy as np
import psycopg

# Binary COPY moves fixed-width rows between PostGIS and numpy without per-row Python: a row is
# its field count (int16), then each field's length (int32) and big-endian value.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)


def copy_row(*fields: tuple[str, str]) -> np.dtype:
    """The numpy dtype of one binary-COPY row of the fixed-width ``fields`` (name, dtype)."""
    parts: list[tuple[str, str]] = [("_n", ">i2")]
    for name, dtype in fields:
        parts += [(f"_len_{name}", ">i4"), (name, dtype)]
    return np.dtype(parts)


def copy_out(conn: psycopg.Connection, sql: str, params: dict | None, row: np.dtype) -> np.ndarray:
    """The rows of ``sql`` (fixed-width columns matching ``row``) as a numpy record array."""
    buf = io.BytesIO()
    with conn.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
        for chunk in copy:
            buf.write(chunk)
    return np.frombuffer(buf.getbuffer()[len(_COPY_HEADER) : -len(_COPY_TRAILER)], dtype=row)


Labels = tuple[np.ndarray, Sequence[str]]
"""A text column given as codes (one per row) into a short list of distinct labels."""


def copy_in(conn: psycopg.Connection, table: str, **columns: np.ndarray | str | Labels) -> None:
    """Binary-COPY columns into the like-named columns of ``table``, in one write.

    A column is a numpy array of int32/int64/float64, a ``str`` (the same text in every row) or
    :data:`Labels` (at most one such column, e.g. hub ids). Rows that share a label share one
    fixed layout, so each group is encoded as one numpy record array: no per-row Python.
    """
    labelled = [name for name, col in columns.items() if isinstance(col, tuple)]
    if len(labelled) > 1:
        raise ValueError("at most one Labels column")
    if labelled:
        codes, labels = columns[labelled[0]]  # type: ignore[misc]
        order = np.argsort(codes, kind="stable")
        ends = np.cumsum(np.bincount(codes, minlength=len(labels)))
        groups = [
            (label, order[end - count : end])
            for label, end, count in zip(labels, ends, np.diff(ends, prepend=0), strict=True)
            if count
        ]
    else:
        n = len(next(c for c in columns.values() if isinstance(c, np.ndarray)))
        groups = [("", np.arange(n))]
    parts = [_COPY_HEADER]
    for label, rows in groups:
        fields: list[tuple[str, np.dtype | str]] = [("_n", ">i2")]
        values: dict[str, object] = {}
        for name, col in columns.items():
            if isinstance(col, np.ndarray):
                dtype, value = col.dtype.newbyteorder(">"), col[rows]
            else:
                text = (label if name in labelled else col).encode()  # type: ignore[union-attr]
                dtype, value = f"S{len(text)}", text
            fields += [(f"_len_{name}", ">i4"), (name, dtype)]
            values[name] = value
        arr = np.empty(len(rows), dtype=fields)
        arr["_n"] = len(columns)
        for name, value in values.items():
            arr[f"_len_{name}"] = arr.dtype[name].itemsize
            arr[name] = value
        parts.append(arr.tobytes())
    parts.append(_COPY_TRAILER)
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as c:
        c.write(b"".join(parts))
