"""Sentiment settings from the environment: which scorer runs, and how the LLM scorer
reaches its endpoint. The API key is only ever read here and sent as a header."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ScorerName = Literal["minilm", "llm", "vader"]


class SentimentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSELAKE_SENTIMENT_", env_file=".env", extra="ignore", populate_by_name=True)

    scorer: ScorerName = Field(default="minilm", description="Default scorer: minilm (offline), llm or vader.")
    threads: int = Field(default=0, ge=0, description="TensorFlow threads for the MiniLM encoder; 0 = all cores.")

    llm_base_url: str = Field(default="", validation_alias=AliasChoices("LLM_BASE_URL", "PULSELAKE_SENTIMENT_LLM_BASE_URL"),
                              description="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    llm_model: str = Field(default="", validation_alias=AliasChoices("LLM_MODEL", "PULSELAKE_SENTIMENT_LLM_MODEL"))
    llm_api_key: SecretStr = Field(default=SecretStr(""), validation_alias=AliasChoices("LLM_API_KEY", "PULSELAKE_SENTIMENT_LLM_API_KEY"))
    # Counts and rates are positive and finite: a zero, negative or NaN one fails deep inside a run, not here.
    llm_requests_per_minute: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    llm_tokens_per_minute: float = Field(default=200_000.0, gt=0, allow_inf_nan=False)
    llm_batch_tokens: int = Field(default=3_000, ge=1, description="Prompt budget per request (system prompt + posts).")
    llm_batch_posts: int = Field(default=40, ge=1, description="Most posts in one request.")
    llm_output_tokens_per_post: int = Field(default=60, ge=1)
    llm_post_tokens: int = Field(default=400, ge=1, description="Posts longer than this are truncated (and flagged).")
    llm_attempts_per_post: int = Field(default=3, ge=1,
                                       description="Times a post is re-queued after a missing or invalid answer.")
    llm_http_attempts: int = Field(default=6, ge=1, description="Tries per request on 429, 5xx and connection errors.")
    llm_max_backoff_s: float = Field(default=30.0, ge=0, allow_inf_nan=False)
    llm_timeout_s: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    llm_cache_path: str = Field(default="~/.cache/pulselake/llm_sentiment.sqlite", description="SQLite answer cache (by content hash).")

    def for_workers(self) -> str:
        """JSON for Spark's Python workers, key included (it travels in the task closure,
        never into logs or the lake); read back with `from_workers`."""
        payload = self.model_dump(mode="json")
        payload["llm_api_key"] = self.llm_api_key.get_secret_value()
        import json

        return json.dumps(payload)

    @classmethod
    def from_workers(cls, text: str) -> "SentimentSettings":
        import json

        return cls.model_validate(json.loads(text))
