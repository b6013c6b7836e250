"""Price files to land instead of the bundled ones: ``SOURCE=PATH`` with a known vendor format.

A user who downloaded a newer copy of a vendor file (or a test with a small
slice) points a run at it; the file is read with that source's declared
format and priority, so bronze and silver treat it exactly like the original.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

from jobs.sources.bundled import BarFile, bundled_bar_files


def price_files(specs: Sequence[str] | None) -> list[BarFile] | None:
    """``["sp500_2009=/data/SP500_ind.csv", ...]`` -> BarFiles; None (the bundled files) when empty."""
    if not specs:
        return None
    formats = {bar_file.source: bar_file for bar_file in bundled_bar_files()}
    files = []
    for spec in specs:
        source, sep, path = str(spec).partition("=")
        if not sep or not path:
            raise ValueError(f"price file {spec!r} is not SOURCE=PATH (sources: {', '.join(sorted(formats))})")
        if source not in formats:
            raise ValueError(f"unknown price source {source!r}; known: {', '.join(sorted(formats))}")
        resolved = Path(path).expanduser().resolve()
        if not resolved.is_file():
            raise ValueError(f"price file {resolved} does not exist")
        files.append(replace(formats[source], path=resolved, description=f"{source} format: {resolved}"))
    return files
