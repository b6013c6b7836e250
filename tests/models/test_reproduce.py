"""A registered run reproduces: its inputs re-read at the Delta versions it recorded, after later writes changed
them, give the same metrics and the same predictions; a run whose inputs VACUUM deleted says which."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jobs.maintenance import vacuum_tables
from jobs.models import registry, steps
from jobs.models.reproduce import CannotReproduce, check_inputs, reproduce
from lake_schema.models import PREDICTIONS
from lake_schema.prices import GOLD_DAILY_FEATURES
from tests.models.synthetic import panel, tiny_config, write_features
from tests.windows import LATEST

pytestmark = pytest.mark.slow  # two trainings of a tiny model and a reproduction


def test_a_run_reproduces_after_its_inputs_changed_and_names_an_input_vacuum_deleted(lake, capfd):
    config = tiny_config()
    config.walk_forward.max_folds = 1
    write_features(lake, panel(days=130, seed=1))
    steps.train_and_evaluate(lake, LATEST, config)
    steps.score(lake, LATEST, "tiny")
    [run] = registry.runs(lake, "tiny")
    pinned = lake.version(GOLD_DAILY_FEATURES)
    assert json.loads(run["input_versions"]) == {GOLD_DAILY_FEATURES.name: pinned}
    assert run["seed"] == config.seed and "tensorflow" in json.loads(run["library_versions"])

    write_features(lake, panel(days=140, seed=2))  # later writes: every value and ten more days
    assert lake.version(GOLD_DAILY_FEATURES) > pinned

    from jobs.cli import app

    capfd.readouterr()
    done = CliRunner().invoke(app, ["models", "reproduce", run["version"], "--score",
                                    "--lake-root", lake.settings.lake_root], env={"COLUMNS": "200"})
    printed = capfd.readouterr().err  # the command prints on the terminal's stderr; the rest goes to its log
    assert done.exit_code == 0, printed
    assert f"gold.daily_features v{pinned}" in printed and "NO" not in printed
    assert "predictions: 4 of 4 re-scored rows equal gold.predictions" in printed
    assert "\nidentical\n" in printed and "full log: " in printed
    assert lake.row_count(PREDICTIONS) == 4  # reproducing writes nothing

    kept = vacuum_tables(lake, [GOLD_DAILY_FEATURES], retain_hours=0)  # the run's version is kept by default
    assert any(f"back to version {pinned}" in note for note in kept.notes), kept.notes
    check_inputs(lake, {GOLD_DAILY_FEATURES.name: pinned})

    vacuum_tables(lake, [GOLD_DAILY_FEATURES], retain_hours=0, keep_model_inputs=False)
    with pytest.raises(CannotReproduce, match=f"gold.daily_features version {pinned} is gone: VACUUM deleted"):
        reproduce(lake, run["version"])
