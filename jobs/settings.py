"""Configuration, read once from the environment (prefix ``PULSELAKE_``) or a ``.env`` file.

Every knob a user may turn lives here, with a default that works on a fresh
clone: a local lake folder, local Spark on all cores, the delta-rs bridge.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELAKE_", env_file=".env", extra="ignore")

    lake_root: str = Field(
        default="lake",
        description="Where the lake lives: a local folder (default ./lake), s3://bucket/prefix, or hdfs://...",
    )
    storage_options: dict[str, str] = Field(
        default_factory=dict,
        description="Object-store options for delta-rs and Arrow, as JSON, e.g. "
        '{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "us-east-1"}. '
        "Concurrent writers on S3 need no lock: delta-rs commits with S3 conditional writes (If-None-Match). "
        "AWS_S3_LOCKING_PROVIDER=dynamodb is refused (delta-rs no longer supports it); a store without "
        'conditional writes needs {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"} and one writer per table.',
    )
    lake_engine: Literal["delta-rs", "delta-spark"] = Field(
        default="delta-rs",
        description="delta-rs: tables committed by the deltalake package (works offline). "
        "delta-spark: Spark's native format('delta'), for clusters that can fetch the Delta jars.",
    )
    delta_spark_package: str = "io.delta:delta-spark_2.13:4.0.0"
    spark_master: str = Field(default="local[*]", description="Spark master URL.")
    spark_shuffle_partitions: int = Field(default=4, ge=1)
    spark_driver_memory: str = Field(default="4g", pattern=r"^[1-9][0-9]*[kKmMgGtT]$",
                                     description="JVM heap of the driver, e.g. 512m or 4g.")
    spark_ui: bool = False
    target_file_rows: int = Field(
        default=1_000_000, ge=1, description="Upper bound on rows per Parquet file the lake writes."
    )

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
