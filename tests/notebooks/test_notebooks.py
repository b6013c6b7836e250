"""Every notebook runs top to bottom (nbclient, a real ipykernel from this venv) against a small lake
built by the pipeline, and against a lake with nothing in it, where it must explain rather than crash."""

from __future__ import annotations

import runpy
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "notebooks"  # git-ignored
# What each notebook must show on the small lake: at least this many figures, and these texts.
EXPECTED = {
    "01_sentiment_vs_returns.ipynb": (3, ["gold.post_price_windows:", "tickers with at least 4 posts; the 15 most discussed"]),
    "02_lead_lag.ipynb": (2, ["gold.sentiment_lead_lag:", "pooled correlations have a 95% interval excluding zero"]),
    "03_model_vs_baselines.ipynb": (1, ["the random walk out of sample (RMSE", "runs; the LSTM beat the random walk in",
                                        "No prediction's target day has traded yet"]),
    "04_data_quality.ipynb": (2, ["(Spark started)", "malformed_row", "unknown_ticker", "open_close_within_range",
                                  "tables have rows"]),
}


def execute(path: Path, lake_root: Path, monkeypatch, keep: bool = False) -> tuple[str, int]:
    """Run the notebook in a fresh kernel; return its text output and how many figures it drew.
    With `keep`, the executed notebook is saved under tests/artifacts/notebooks/ to look at."""
    monkeypatch.setenv("PULSELAKE_LAKE_ROOT", str(lake_root))
    monkeypatch.setenv("PULSELAKE_SPARK_MASTER", "local[2]")
    monkeypatch.setenv("PULSELAKE_SPARK_DRIVER_MEMORY", "1g")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    if keep:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, ARTIFACTS / path.name)
    texts, figures = [], 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            if output["output_type"] == "stream":
                texts.append(output["text"])
            data = output.get("data", {})
            figures += "image/png" in data
            texts += [data.get("text/plain", ""), data.get("text/html", "")]
    return "\n".join(texts), figures


def test_the_committed_notebooks_are_generated_and_carry_no_outputs():
    generator = runpy.run_path(str(NOTEBOOKS / "generate.py"))
    assert sorted(generator["NOTEBOOKS"]) == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)
    for name in generator["NOTEBOOKS"]:
        text = (NOTEBOOKS / name).read_text()
        assert text == generator["render"](name), f"{name} differs from notebooks/generate.py: regenerate it"
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in notebook.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_top_to_bottom_on_a_pipeline_built_lake(name, small_lake, monkeypatch):
    text, figures = execute(NOTEBOOKS / name, small_lake, monkeypatch, keep=True)
    minimum, phrases = EXPECTED[name]
    assert figures >= minimum, text
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} missing from {name}'s output"
    assert "NOTE:" not in text  # no table it reads is empty on this lake


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_explains_an_empty_lake_instead_of_crashing(name, tmp_path, monkeypatch):
    text, figures = execute(NOTEBOOKS / name, tmp_path / "empty_lake", monkeypatch)
    assert figures == 0
    assert "does not exist yet" in text and "pulselake nightly" in text
