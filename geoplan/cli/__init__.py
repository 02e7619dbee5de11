"""The ``geoplan`` command: the one composition root that may import ``api`` and ``maps``.

Each submodule registers one family of commands and stays thin: it parses options, calls one
function in ``geoplan/`` and prints the result. Errors the user can fix end the command with exit
code 1 and one readable line (see :func:`geoplan.cli.common.fail`); errors in the command line
itself (a bad option value, an unknown option) end it with one line and exit code 2
(:class:`geoplan.cli.common.OneLineErrorsGroup`).
"""

from __future__ import annotations

import typer

from geoplan.cli import (
    addresses,
    alerts,
    assess,
    db,
    keys,
    layers,
    maps,
    network,
    plans,
    premises,
    proximity,
    serve,
)
from geoplan.cli.common import OneLineErrorsGroup

app = typer.Typer(
    name="geoplan",
    cls=OneLineErrorsGroup,
    help="Geospatial planning for business areas and transit hubs, for any Norwegian "
    "municipality (`geoplan init --kommune NNNN`; Lørenskog, 3222, by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for module in (
    db,
    layers,
    addresses,
    network,
    proximity,
    premises,
    keys,
    alerts,
    maps,
    assess,
    serve,
    plans,
):
    module.register(app)


def main() -> None:
    app()
