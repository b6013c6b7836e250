"""`price_files` (DAG param) and `--price-file` (spark-submit): SOURCE=PATH in a known vendor format."""

from __future__ import annotations

import pytest

from jobs.sources.bundled import bar_files_from as price_files
from jobs.sources.bundled import bundled_bar_files
from tests.dags.conftest import SLICE


def test_an_override_keeps_its_sources_format_and_priority():
    assert price_files([]) is None  # nothing given: the bundled files
    (override,) = price_files([f"sp500_2009={SLICE}"])
    bundled = {f.source: f for f in bundled_bar_files()}["sp500_2009"]
    assert (override.path, override.fields, override.date_format, override.priority) == (
        SLICE, bundled.fields, bundled.date_format, bundled.priority)


@pytest.mark.parametrize("spec, message", [
    ("sp500_2009", "not SOURCE=PATH"),
    (f"nasdaq={SLICE}", "unknown price source 'nasdaq'"),
    ("sp500_2009=/nonexistent/file.csv", "does not exist"),
])
def test_bad_specs_fail_with_a_clear_message(spec, message):
    with pytest.raises(ValueError, match=message):
        price_files([spec])
