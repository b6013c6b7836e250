"""The documents stay true to the project: the README is a short page for users, every link in the documents
points at a file that exists, the pipeline picture is the declared graph, and the benchmark table is the one
`make bench` last wrote."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
MERMAID = re.compile(r"```mermaid\n(.*?)```", re.S)


def test_the_readme_is_a_page_for_users_and_the_rest_lives_in_docs():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; move detail to docs/"
    linked = set(LINK.findall((ROOT / "README.md").read_text()))
    assert {f"docs/{page.name}" for page in PAGES[1:]} <= linked, "every docs/ page is listed in the README"


def test_every_relative_link_in_the_documents_resolves():
    broken = [f"{page.relative_to(ROOT)} -> {target}" for page in PAGES for target in LINK.findall(page.read_text())
              if "://" not in target and not (page.parent / target).exists()]
    assert broken == []


def test_the_pipeline_picture_is_the_declared_graph():
    from jobs.pipeline.graph import mermaid

    [picture] = MERMAID.findall((ROOT / "docs" / "pipeline.md").read_text())
    assert picture.strip() == mermaid(), "docs/pipeline.md is stale: paste `pulselake graph --mermaid` into it"


def test_the_benchmark_page_quotes_the_latest_full_run():
    from bench.__main__ import PAGE_END, PAGE_START, RESULTS_PAGE, to_markdown

    text = RESULTS_PAGE.read_text()
    quoted = text[text.index(PAGE_START) + len(PAGE_START):text.index(PAGE_END)]
    latest = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    assert quoted.strip() == to_markdown(latest).strip(), "docs/benchmarks.md differs from bench/results/latest.json"
