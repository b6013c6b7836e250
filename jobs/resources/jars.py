"""Where the JVM artifacts live: `make setup` copies them from jvm/pom.xml into .jars/<module>/."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_JARS_DIR = PROJECT_ROOT / ".jars"


def module_jars(jars_dir: str | Path, module: str) -> list[str]:
    """Every jar of one module (spark, kafka, hdfs), sorted; a clear error when setup has not fetched them."""
    folder = Path(jars_dir) / module
    jars = sorted(str(p) for p in folder.glob("*.jar"))
    if not jars:
        raise FileNotFoundError(f"no jars in {folder}: run `make setup` (it fetches them from jvm/pom.xml)")
    return jars


def spark_classpath(jars_dir: str | Path) -> str:
    """The Spark module's jars as one class path entry (checked to exist)."""
    module_jars(jars_dir, "spark")
    return str(Path(jars_dir).resolve() / "spark" / "*")
