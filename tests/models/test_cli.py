"""`pulselake models`: every command has help; a bad config is a clear message, not a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from jobs.cli import app


def test_every_models_command_has_help():
    runner = CliRunner()
    for command in ("train", "score", "evaluate", "runs"):
        result = runner.invoke(app, ["models", command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_an_unknown_config_names_the_known_ones():
    result = CliRunner().invoke(app, ["models", "train", "--config", "no_such_config"])
    assert result.exit_code != 0
    assert "nightly" in result.output and "Traceback" not in result.output
