"""An experiment is a small TOML file: which data, which window and features, which
network, how the walk-forward runs. The same file and seed give the same numbers."""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CONFIG_DIR = Path(__file__).parent / "configs"

PRICE_FEATURES = (
    "return_1d", "return_5d", "return_20d", "volatility_20d", "range_pct",
    "volume_z_20d", "close_to_sma_20d", "log_dollar_volume",
)


class Universe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tickers: list[str] | None = Field(None, description="explicit tickers; None = every ticker in gold.daily_features")
    max_tickers: int | None = Field(None, ge=1, description="keep the first N tickers by name (small slices for tests)")
    start: date | None = None
    end: date | None = None
    min_day_coverage: float = Field(
        0.0, ge=0, le=1,
        description="drop trading days on which fewer than this share of the universe has a bar, "
        "so a cross-sectional model is not trained on days where only a few tickers trade",
    )


class Network(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["global", "per_ticker"] = "global"
    units: int = Field(32, ge=1)
    embedding_dim: int = Field(4, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    epochs: int = Field(6, ge=1)
    batch_size: int = Field(512, ge=1)
    learning_rate: float = Field(1e-3, gt=0, allow_inf_nan=False)
    direction_loss_weight: float = Field(0.2, ge=0, allow_inf_nan=False,
                                         description="weight of the up/down head's loss beside the return head's")


class WalkForward(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_train_days: int = Field(100, ge=1, description="trading days of labelled history before the first test day")
    retrain_every: int = Field(21, ge=1, description="trading days between retrains (expanding window)")
    max_folds: int | None = Field(None, ge=1, description="keep only the last N folds (bounds nightly time)")


def fingerprint(config: BaseModel) -> str:
    """Short hash of everything that changes results: equal hashes, comparable runs."""
    return hashlib.sha256(json.dumps(config.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:10]


class ExperimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    seed: int = Field(7, ge=0, lt=2**32)  # the range NumPy and Keras accept
    window: int = 20
    features: list[str] = Field(default_factory=lambda: list(PRICE_FEATURES), min_length=1)
    use_sentiment: bool = Field(True, description="join sentiment aggregates where the table exists")
    universe: Universe = Field(default_factory=Universe)
    network: Network = Field(default_factory=Network)
    walk_forward: WalkForward = Field(default_factory=WalkForward)
    ridge_alpha: float = Field(1.0, ge=0, allow_inf_nan=False, description="L2 penalty of the linear baseline")

    @model_validator(mode="after")
    def _known_features(self) -> "ExperimentConfig":
        unknown = [f for f in self.features if f not in PRICE_FEATURES]
        if unknown:
            raise ValueError(f"unknown features {unknown}; choose from {list(PRICE_FEATURES)}")
        if self.window < 1:
            raise ValueError("window must be at least 1 day")
        return self

    def fingerprint(self) -> str:
        return fingerprint(self)


class IntradayConfig(BaseModel):
    """The intraday model: the return over the next `horizon_minutes` from the last `window` 1-minute bars of the
    same trading day (silver.bars_1m), plus the previous day's sentiment where it exists. Walk-forward folds are
    trading days, as for the daily model; `walk_forward.min_train_days` counts days of bars."""

    model_config = ConfigDict(extra="forbid")
    name: str
    seed: int = Field(7, ge=0, lt=2**32)
    window: int = Field(30, ge=2, description="1-minute bars in one input window, all of one trading day")
    horizon_minutes: int = Field(5, ge=1, le=390, description="predict the return over the next N minutes")
    symbols: list[str] | None = Field(None, description="symbols to train on; None = every symbol with bars")
    use_sentiment: bool = Field(True, description="add the previous day's sentiment where gold.sentiment_daily has it")
    network: Network = Field(default_factory=Network)
    walk_forward: WalkForward = Field(default_factory=WalkForward)
    ridge_alpha: float = Field(1.0, ge=0, allow_inf_nan=False, description="L2 penalty of the linear baseline")

    def fingerprint(self) -> str:
        return fingerprint(self)


def load_config(name_or_path: str | Path) -> ExperimentConfig:
    """Load `configs/<name>.toml` or any TOML path."""
    return ExperimentConfig.model_validate(_read_toml(name_or_path))


def load_intraday_config(name_or_path: str | Path) -> IntradayConfig:
    """Load `configs/<name>.toml` (default name: intraday) or any TOML path as an intraday config."""
    return IntradayConfig.model_validate(_read_toml(name_or_path))


def _read_toml(name_or_path: str | Path) -> dict:
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))
        raise FileNotFoundError(f"no experiment config {str(name_or_path)!r}; known: {known}")
    with path.open("rb") as handle:
        try:
            data = tomllib.load(handle)
        except RecursionError:  # arrays nested past Python's limit: tomllib has no depth check of its own
            raise ValueError(f"{path} nests arrays or tables too deeply to be an experiment config") from None
    return data
