"""Table definitions: the single source of truth for every table in the lake.

Each module here declares the tables of one domain as `TableSpec` constants;
`TABLES` collects them all by name (e.g. ``TABLES["silver.daily_bars"]``).
"""

from __future__ import annotations

import importlib
import pkgutil

from lake_schema.spec import LAYERS, Column, Rule, TableSpec


def _collect() -> dict[str, TableSpec]:
    found: dict[str, TableSpec] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name == "spec":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, TableSpec):
                if value.name in found and found[value.name] is not value:
                    raise ValueError(f"table {value.name} is declared twice")
                found[value.name] = value
    return dict(sorted(found.items()))


TABLES: dict[str, TableSpec] = _collect()


def table(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"no table {name!r} in lake_schema; known: {', '.join(TABLES)}") from None


__all__ = ["LAYERS", "TABLES", "Column", "Rule", "TableSpec", "table"]
