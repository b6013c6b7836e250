"""`python -m jobs.cli`: the `pulselake` command, for environments without the console script."""

from jobs.cli import app

app()
