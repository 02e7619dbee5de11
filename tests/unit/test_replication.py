"""WAL positions as the read-your-writes token carries them: parsed, printed, compared."""

from __future__ import annotations

import pytest

from geoplan.store.replication import format_lsn, parse_lsn


@pytest.mark.parametrize("text", ["0/0", "0/3000148", "16/B374D848", "FFFFFFFF/FFFFFFFF"])
def test_a_position_survives_the_round_trip(text: str) -> None:
    assert format_lsn(parse_lsn(text)) == text  # type: ignore[arg-type]


def test_positions_compare_as_the_log_grows() -> None:
    order = ["0/0", "0/FFFFFFFF", "1/0", "1/1", "A/0", "10/0"]
    assert [parse_lsn(t) for t in order] == sorted(parse_lsn(t) for t in order)  # type: ignore[type-var]
    assert parse_lsn("0/16b3748") == parse_lsn("0/16B3748")
    assert parse_lsn(" 0/10 ") == 16


@pytest.mark.parametrize(
    "text", [None, "", "x/y", "0/", "/0", "0-10", "123456789/0", "0/0/0", "0/10; Path=/"]
)
def test_anything_else_is_no_position(text: str | None) -> None:
    assert parse_lsn(text) is None
