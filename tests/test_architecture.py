"""No import cycles, among modules or among the packages of jobs/: a newcomer can read the layers bottom-up
(lake_schema, resources, the domain packages, pipeline, then the CLI, Airflow and the dashboard)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("jobs/**/*.py"), *ROOT.glob("lake_schema/**/*.py"), *ROOT.glob("dags/*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> nx.DiGraph:
    """Every import, at module level or inside a function (a lazy import still ties the two together)."""
    graph = nx.DiGraph()
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph.add_edges_from((name, target) for target in targets if target in modules and target != name)
    return graph


def _package(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "jobs" or len(parts) == 1:
        return parts[0]
    return ".".join(parts[:2])  # jobs.<package> (or a top-level module of jobs: its own node)


def test_no_module_imports_itself_back():
    cycles = list(nx.simple_cycles(_imports(_modules())))
    assert cycles == [], cycles


def test_no_package_of_jobs_imports_itself_back():
    modules = _imports(_modules())
    packages = nx.DiGraph((_package(a), _package(b)) for a, b in modules.edges if _package(a) != _package(b))
    cycles = [sorted(c) for c in nx.simple_cycles(packages)]
    assert cycles == [], cycles


def test_only_the_settings_read_pulselake_variables_from_the_environment():
    """One typed configuration built at the edge (jobs/resources/settings.py, and sentiment's own settings class):
    no other module of jobs/ asks the environment for a PULSELAKE_* knob."""
    reading = re.compile(r"""(environ\.get|environ\[|getenv)\(?\s*["']PULSELAKE_""")
    allowed = {ROOT / "jobs" / "resources" / "settings.py", ROOT / "jobs" / "sentiment" / "config.py"}
    readers = [str(path.relative_to(ROOT)) for path in ROOT.glob("jobs/**/*.py")
               if path not in allowed and reading.search(path.read_text())]
    assert readers == []


def test_production_code_never_imports_the_local_stand_ins():
    """jobs/local/ (replay servers and sources, the local broker, HDFS, Airflow, the LLM dev server) is reached only
    from the command line (jobs/cli/), from itself, and from the tests: the lake runs the same without it."""
    modules = _modules()
    edges = _imports(modules).edges
    allowed = ("jobs.local", "jobs.cli")
    offenders = sorted({(a, b) for a, b in edges if b.startswith("jobs.local") and not a.startswith(allowed)})
    assert offenders == []
    assert any(b.startswith("jobs.local") for _, b in edges), "the check sees the imports it guards"
