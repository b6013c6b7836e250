"""Property tests of configuration and command-line parsing: `Settings` and `SentimentSettings` from the
environment, experiment TOML files (`load_config`), option parsers, and `sentiment score`'s stdin.

A bad value is refused where it is read, by a ValidationError (or typer
error) that names the field or option, never accepted to fail deep inside a
run; every value a user may mean is accepted as written.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

import click
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_settings import SettingsError

from jobs.cli.common import parse_date
from jobs.cli.ingest import _seconds
from jobs.models.config import PRICE_FEATURES, ExperimentConfig, load_config
from jobs.cli.sentiment import _read_posts
from jobs.sentiment.config import SentimentSettings
from jobs.resources.settings import Settings
from jobs.cli.stream import _duration
from tests.hostile import HUGE_NUMBERS, ODD_TEXT, deep_nesting, dumps, hostile_text, json_values

env_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=30)
hostile_env = st.one_of(
    env_text, ODD_TEXT.filter(lambda t: "\x00" not in t), HUGE_NUMBERS.map(str), json_values.map(dumps),
    st.sampled_from(["0", "-1", "-0", "nan", "inf", "-inf", "1e400", "true", "maybe", "{}", "[]", '{"a": 1}',
                     '{"a": null}', "4gb", "0g", "1.5g", "4 g", "local[*]", "s3://", "delta", "   "]),
).filter(lambda t: "\x00" not in t)


def _int_at_least(low: int):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _finite(low: float, strict: bool = False):
    return lambda v: isinstance(v, float) and math.isfinite(v) and (v > low if strict else v >= low)


def _text(v: object) -> bool:
    return isinstance(v, str)


# What every field must hold once read: a value outside it would fail later, deep inside a run.
SETTINGS_CONTRACT = {
    "lake_root": lambda v: isinstance(v, str) and (os.path.isabs(v) or "://" in v),
    "storage_options": lambda v: isinstance(v, dict) and all(_text(k) and _text(x) for k, x in v.items()),
    "jars_dir": _text,
    "spark_master": _text,
    "spark_shuffle_partitions": _int_at_least(1),
    "spark_driver_memory": lambda v: isinstance(v, str) and re.fullmatch(r"[1-9][0-9]*[kmgt]", v, re.I) is not None,
    "spark_ui": lambda v: isinstance(v, bool),
    "target_file_rows": _int_at_least(1),
    "daily_model": _text,
    "daily_max_tickers": lambda v: v is None or _int_at_least(1)(v),
    "intraday_config": _text,
    "replay_days": _int_at_least(1),
    "tf_threads": lambda v: v is None or _int_at_least(1)(v),
    "dashboard_ttl": _int_at_least(0),
    "dashboard_live_s": _finite(0, strict=True),
}
SENTIMENT_CONTRACT = {
    "scorer": lambda v: v in ("minilm", "llm", "vader"),
    "threads": _int_at_least(0),
    "llm_base_url": _text, "llm_model": _text, "llm_api_key": lambda v: _text(v.get_secret_value()),
    "llm_requests_per_minute": _finite(0, strict=True), "llm_tokens_per_minute": _finite(0, strict=True),
    "llm_batch_tokens": _int_at_least(1), "llm_batch_posts": _int_at_least(1),
    "llm_output_tokens_per_post": _int_at_least(1), "llm_post_tokens": _int_at_least(1),
    "llm_attempts_per_post": _int_at_least(1), "llm_http_attempts": _int_at_least(1),
    "llm_max_backoff_s": _finite(0), "llm_timeout_s": _finite(0, strict=True), "llm_cache_path": _text,
}


def _env_name(model, prefix: str, field: str) -> str:
    """The environment variable a field is read from: its alias where it has a single one, else prefix + name."""
    alias = model.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else f"{prefix}{field.upper()}"


def _read(model, prefix: str, field: str, value: str):
    """`model` read from the environment with `field` set to `value` (and no .env file)."""
    with mock.patch.dict(os.environ, {_env_name(model, prefix, field): value}):
        return model(_env_file=None)


def test_every_setting_has_a_contract():
    assert set(SETTINGS_CONTRACT) == set(Settings.model_fields)
    assert set(SENTIMENT_CONTRACT) == set(SentimentSettings.model_fields)


@pytest.mark.parametrize("model, prefix, contract", [(Settings, "PULSELAKE_", SETTINGS_CONTRACT),
                                                     (SentimentSettings, "PULSELAKE_SENTIMENT_", SENTIMENT_CONTRACT)])
@given(data=st.data())
def test_a_bad_environment_value_is_refused_naming_its_field(model, prefix, contract, data):
    field = data.draw(st.sampled_from(sorted(contract)), label="field")
    value = data.draw(hostile_env, label="value")
    try:
        settings = _read(model, prefix, field, value)
    except (ValidationError, SettingsError) as error:
        assert field in str(error) or _env_name(model, prefix, field) in str(error), str(error)
    else:
        broken = [name for name, ok in contract.items() if not ok(getattr(settings, name))]
        assert not broken, (field, value, {name: getattr(settings, name) for name in broken})


good_settings = st.one_of(
    st.tuples(st.just("spark_shuffle_partitions"), st.integers(1, 10**6).map(str)),
    st.tuples(st.just("target_file_rows"), st.integers(1, 10**12).map(str)),
    st.tuples(st.just("spark_driver_memory"), st.from_regex(r"[1-9][0-9]{0,4}[kKmMgGtT]", fullmatch=True)),
    st.tuples(st.just("spark_ui"), st.sampled_from(["true", "false", "1", "0", "yes", "no"])),
    st.tuples(st.just("storage_options"), st.dictionaries(st.from_regex(r"[A-Z_]{1,20}", fullmatch=True),
                                                          env_text, max_size=4).map(json.dumps)),
    st.tuples(st.just("lake_root"), st.from_regex(r"(s3|hdfs)://[a-z0-9-]{3,20}(/[a-z0-9]{1,8}){0,3}", fullmatch=True)),
    st.tuples(st.just("spark_master"), st.sampled_from(["local[*]", "local[2]", "spark://host:7077", "yarn"])),
    st.tuples(st.sampled_from(["replay_days", "daily_max_tickers", "tf_threads", "dashboard_ttl"]),
              st.integers(1, 10**4).map(str)),
    st.tuples(st.sampled_from(["daily_model", "intraday_config"]), st.from_regex(r"[a-z_]{1,12}", fullmatch=True)),
)


@given(good_settings)
def test_good_environment_values_are_read_as_written(pair):
    field, value = pair
    settings = _read(Settings, "PULSELAKE_", field, value)
    expected = {"spark_ui": value in ("true", "1", "yes"), "storage_options": json.loads(value) if field ==
                "storage_options" else None}.get(field, value)
    assert str(getattr(settings, field)) == str(expected)


good_sentiment = st.one_of(
    st.tuples(st.sampled_from(["llm_batch_tokens", "llm_batch_posts", "llm_output_tokens_per_post", "llm_post_tokens",
                               "llm_attempts_per_post", "llm_http_attempts"]), st.integers(1, 10**6)),
    st.tuples(st.sampled_from(["llm_requests_per_minute", "llm_tokens_per_minute", "llm_timeout_s"]),
              st.floats(1e-3, 1e7)),
    st.tuples(st.just("llm_max_backoff_s"), st.floats(0, 1e4)), st.tuples(st.just("threads"), st.integers(0, 512)),
)


@given(good_sentiment)
def test_good_sentiment_values_are_read_as_written(pair):
    field, value = pair
    assert getattr(_read(SentimentSettings, "PULSELAKE_SENTIMENT_", field, repr(value)), field) == value


# ------------------------------------------------------------ experiments ---

dates = st.dates(date(1990, 1, 1), date(2030, 12, 31))
experiments = st.fixed_dictionaries({
    "name": st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True), "seed": st.integers(0, 2**32 - 1),
    "window": st.integers(1, 60), "features": st.lists(st.sampled_from(PRICE_FEATURES), min_size=1, unique=True),
    "use_sentiment": st.booleans(), "ridge_alpha": st.floats(0, 100),
    "universe": st.fixed_dictionaries({}, optional={
        "tickers": st.lists(st.from_regex(r"[A-Z]{1,5}", fullmatch=True), min_size=1, max_size=5),
        "max_tickers": st.integers(1, 500), "start": dates, "end": dates, "min_day_coverage": st.floats(0, 1)}),
    "network": st.fixed_dictionaries({}, optional={
        "kind": st.sampled_from(["global", "per_ticker"]), "units": st.integers(1, 256),
        "embedding_dim": st.integers(1, 32),
        "dropout": st.floats(0, 0.9), "epochs": st.integers(1, 50), "batch_size": st.integers(1, 4096),
        "learning_rate": st.floats(1e-6, 1), "direction_loss_weight": st.floats(0, 10)}),
    "walk_forward": st.fixed_dictionaries({}, optional={
        "min_train_days": st.integers(1, 500), "retrain_every": st.integers(1, 100), "max_folds": st.integers(1, 50)}),
})
toml_scalars = st.one_of(st.integers(), HUGE_NUMBERS.filter(lambda v: isinstance(v, float) or abs(v) < 2**63),
                         st.floats(), st.text(max_size=10), ODD_TEXT, st.booleans(), dates)
toml_values = st.one_of(toml_scalars, st.lists(toml_scalars, max_size=3))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else {math.inf: "inf", -math.inf: "-inf"}.get(value, repr(value))
    if isinstance(value, (int, date)):
        return str(value) if not isinstance(value, date) else value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)  # a TOML basic string


def _toml(config: dict) -> str:
    top = [f"{k} = {_toml_value(v)}" for k, v in config.items() if not isinstance(v, dict)]
    tables = [f"[{k}]\n" + "\n".join(f"{n} = {_toml_value(x)}" for n, x in v.items())
              for k, v in config.items() if isinstance(v, dict)]
    return "\n".join(top + tables) + "\n"


def _load(text: str | bytes) -> ExperimentConfig:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "experiment.toml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        return load_config(path)


@given(experiments)
def test_good_experiment_files_load_as_written(config):
    loaded = _load(_toml(config)).model_dump()
    for key, value in config.items():
        assert loaded[key] == value if not isinstance(value, dict) else \
            {k: loaded[key][k] for k in value} == value


def _usable(config: ExperimentConfig) -> bool:
    """What training assumes of a config: counts, rates and probabilities in range, finite floats."""
    net, wf, universe = config.network, config.walk_forward, config.universe
    return (0 <= config.seed < 2**32 and config.window >= 1
            and config.features and set(config.features) <= set(PRICE_FEATURES)
            and math.isfinite(config.ridge_alpha) and config.ridge_alpha >= 0
            and min(net.units, net.embedding_dim, net.epochs, net.batch_size) >= 1 and 0 <= net.dropout < 1
            and math.isfinite(net.learning_rate) and net.learning_rate > 0
            and math.isfinite(net.direction_loss_weight) and net.direction_loss_weight >= 0
            and min(wf.min_train_days, wf.retrain_every) >= 1 and (wf.max_folds is None or wf.max_folds >= 1)
            and (universe.max_tickers is None or universe.max_tickers >= 1) and 0 <= universe.min_day_coverage <= 1)


@st.composite
def broken_experiments(draw) -> dict:
    config = draw(experiments)
    section = draw(st.sampled_from([None, "universe", "network", "walk_forward"]))
    fields = {None: ["name", "seed", "window", "features", "use_sentiment", "ridge_alpha"],
              "universe": ["tickers", "max_tickers", "start", "end", "min_day_coverage"],
              "network": ["kind", "units", "embedding_dim", "dropout", "epochs", "batch_size", "learning_rate",
                          "direction_loss_weight"],
              "walk_forward": ["min_train_days", "retrain_every", "max_folds"]}[section]
    field, value = draw(st.sampled_from(fields)), draw(toml_values)
    if section is None:
        return {**config, field: value}
    return {**config, section: {**config[section], field: value}}


@given(st.one_of(broken_experiments().map(_toml), hostile_text(experiments.map(_toml)),
                 deep_nesting.map(lambda nest: f"name = 'x'\nfeatures = {nest}"), st.binary()))
def test_a_bad_experiment_file_is_a_value_error_or_a_usable_config(text):
    try:
        config = _load(text)
    except ValueError as error:  # ValidationError, TOMLDecodeError, UnicodeDecodeError: the CLI's BadParameter
        assert str(error)
    else:
        assert _usable(config), config


# ------------------------------------------------------- command options ---

@given(dates)
def test_good_option_values_are_read_as_written(day):
    assert parse_date(day.isoformat()) == day


@given(st.integers(0, 10**6), st.sampled_from([("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)]))
def test_good_durations_are_read_as_written(amount, unit):
    assert _seconds(f"{amount}{unit[0]}") == amount * unit[1]
    assert _duration(f"{amount}{unit[0]}", "--watermark") == timedelta(seconds=amount * unit[1])


@given(st.one_of(env_text, ODD_TEXT, HUGE_NUMBERS.map(str),
                 st.builds(lambda n, u: f"{n}{u}", HUGE_NUMBERS | st.floats(), st.sampled_from("smhdw"))))
def test_a_bad_option_value_is_a_bad_parameter(text):
    for parse in (parse_date, _seconds, lambda t: _duration(t, "--watermark")):
        try:
            value = parse(text)
        except typer.BadParameter as error:
            assert str(error)
        else:
            assert isinstance(value, date) or (value >= 0 if isinstance(value, float) else value >= timedelta(0))


@given(st.lists(st.builds(lambda i, t: json.dumps({"id": i, "text": t}), st.integers() | st.text(max_size=8),
                          st.text(max_size=40)), max_size=20))
def test_good_stdin_lines_become_posts(lines):
    batches = list(_read_posts(io.StringIO("\n".join(lines) + "\n"), 7))
    rows = [json.loads(line) for line in lines]
    assert [(raw, post.text) for batch in batches for raw, post in batch] == [(r["id"], r["text"]) for r in rows]
    assert all(len(batch) <= 7 for batch in batches)


@given(st.lists(hostile_text(st.just('{"id": 1, "text": "x"}')), min_size=1, max_size=5))
def test_bad_stdin_lines_stop_with_a_plain_error(lines):
    try:
        list(_read_posts(io.StringIO("\n".join(lines) + "\n"), 256))
    except (typer.Exit, click.exceptions.Exit) as stop:
        assert stop.exit_code == 1

