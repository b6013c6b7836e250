"""Configuration, read once from the environment (prefix ``PULSELAKE_``) or a ``.env`` file.

Every knob a user may turn lives here, with a default that works on a fresh
clone: a local lake folder, local Spark on all cores with delta-spark, the bundled
model configs. It is built once at the edge (the CLI, an Airflow task, the dashboard)
and travels with the lake (`lake.settings`); no other module reads ``PULSELAKE_*``.
(Sentiment scoring has its own, `jobs.sentiment.config.SentimentSettings`.)
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobs.resources.jars import DEFAULT_JARS_DIR, PROJECT_ROOT
from jobs.sources.bundled import REPLAY_DAYS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELAKE_", env_file=".env", extra="ignore", populate_by_name=True)

    lake_root: str = Field(
        default="lake",
        description="Where the lake lives: a local folder (default ./lake), s3://bucket/prefix, or hdfs://...",
    )
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="Object-store options as JSON, e.g. "
        '{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "us-east-1"}. '
        "One set serves both readers: Spark gets them as s3a settings (see hadoop_conf), delta-rs "
        "(dashboards, notebooks) as they are.",
    )
    jars_dir: str = Field(default=str(DEFAULT_JARS_DIR), description="Where `make setup` put the JVM jars.")
    spark_master: str = Field(default="local[*]", description="Spark master URL.")
    spark_shuffle_partitions: int = Field(default=4, ge=1)
    spark_driver_memory: str = Field(default="4g", pattern=r"^[1-9][0-9]*[kKmMgGtT]$",
                                     description="JVM heap of the driver, e.g. 512m or 4g.")
    spark_ui: bool = False
    target_file_rows: int = Field(
        default=1_000_000, ge=1, description="Upper bound on rows per Parquet file the lake writes."
    )
    # the run: which models, how much replayed data, how many threads
    daily_model: str = Field(default="nightly", validation_alias="PULSELAKE_MODEL_CONFIG",
                             description="The daily model's experiment: a name in jobs/models/configs/ or a TOML path.")
    daily_max_tickers: int | None = Field(default=None, ge=1, validation_alias="PULSELAKE_MODEL_MAX_TICKERS",
                                          description="Cut the daily model's universe to this many tickers (a quick run).")
    intraday_config: str = Field(default="intraday", description="The intraday model's config (a name or a TOML path), "
                                 "which the nightly trains and the stream scores with.")
    replay_days: int = Field(default=REPLAY_DAYS, ge=1, description="Bundled trading days the nightly replays through "
                             "the embedded Finnhub server (the intraday walk-forward must fit them).")
    tf_threads: int | None = Field(default=None, ge=1, description="TensorFlow threads for the LSTMs (default: the "
                                   "cores this process may use).")
    dashboard_ttl: int = Field(default=60, ge=0, description="Seconds the dashboard caches a read.")
    dashboard_live_s: float = Field(default=5.0, gt=0, allow_inf_nan=False,
                                    description="Seconds between refreshes of the dashboard's live section.")

    @field_validator("lake_root")
    @classmethod
    def _absolute_local_root(cls, value: str) -> str:
        """Local roots become absolute so Spark executors resolve them the same way."""
        if "://" in value:
            return value.rstrip("/")
        return str(Path(os.path.expanduser(value)).resolve())

    @property
    def lake_is_local(self) -> bool:
        return "://" not in self.lake_root or self.lake_root.startswith("file://")

    def option(self, *names: str) -> str | None:
        """A storage option by any of its names (either case), else the same-named environment variable."""
        for name in names:
            for key in (name, name.lower()):
                if self.storage_options.get(key):
                    return self.storage_options[key]
        return next((os.environ[name] for name in names if os.environ.get(name)), None)

    def hadoop_conf(self) -> dict[str, str]:
        """storage_options as Hadoop s3a settings: `s3://` and `s3a://` lakes both go through S3AFileSystem.
        Scoped to the lake's bucket (fs.s3a.bucket.<name>.*) so one Spark session can reach several stores."""
        if not self.lake_root.startswith(("s3://", "s3a://")):
            return {}
        bucket = self.lake_root.split("://", 1)[1].split("/", 1)[0]
        prefix = f"spark.hadoop.fs.s3a.bucket.{bucket}."
        conf = {"spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem"}
        values = {
            "access.key": self.option("AWS_ACCESS_KEY_ID"),
            "secret.key": self.option("AWS_SECRET_ACCESS_KEY"),
            "session.token": self.option("AWS_SESSION_TOKEN"),
            "endpoint.region": self.option("AWS_REGION", "AWS_DEFAULT_REGION") or "us-east-1",
        }
        endpoint = self.option("AWS_ENDPOINT_URL", "AWS_ENDPOINT")
        if endpoint:  # an S3-compatible store on its own address (MinIO, moto): path-style, its scheme
            values.update({"endpoint": endpoint, "path.style.access": "true",
                           "connection.ssl.enabled": str(endpoint.startswith("https")).lower()})
        if values["access.key"]:
            values["aws.credentials.provider"] = (
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider" if values["session.token"]
                else "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
        conf.update({prefix + key: value for key, value in values.items() if value})
        return conf


def repository_settings() -> Settings:
    """Settings from the environment, with the lake defaulting to the repository's ./lake whatever the working
    directory (a notebook runs in notebooks/, Airflow's tasks wherever the executor starts them)."""
    settings = Settings()
    if "lake_root" in settings.model_fields_set:  # the environment (or .env) named a lake
        return settings
    return settings.model_copy(update={"lake_root": str(PROJECT_ROOT / "lake")})
