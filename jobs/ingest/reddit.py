"""Reddit collector on praw: posts from subreddit listings and their comments -> Kafka
(`reddit.posts`, `reddit.comments`; key: the thing's id; value: its JSON record).

The endpoints come from the environment (``REDDIT_OAUTH_URL``, ``REDDIT_URL``;
praw's ``oauth_url`` / ``reddit_url``) next to the app credentials
(``REDDIT_CLIENT_ID``, ``REDDIT_CLIENT_SECRET``, ``REDDIT_USER_AGENT``), so the
same code reads reddit.com or the local replay server. Every fetch is produced as
seen, with its fetch time: collecting the same post again is normal and silver
merges the fetches on the post id.

Every request has a hard timeout (``REDDIT_TIMEOUT_S``, default 16 s) and API
reads are retried on resets, timeouts, 429 (after ``Retry-After``) and 5xx
(``REDDIT_RETRIES`` times, default 3) under prawcore's own retries; a body that
is cut off or is not the JSON it claims to be is retried as well. What still
fails ends the run with a plain `RedditCollectError`; what Kafka acknowledged
before stays, and the run waits for that acknowledgement either way.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import praw
import prawcore
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from jobs.ingest.publish import Publisher, iso, utc_now
from jobs.ingest.topics import REDDIT_COMMENTS, REDDIT_POSTS
from jobs.quality import TIME_RANGE_MS
from jobs.resources.http_errors import describe

log = logging.getLogger(__name__)

LISTINGS = ("new", "hot", "top")
DEFAULT_USER_AGENT = "pulselake/0.1 (data lake collector)"


class RedditCollectError(RuntimeError):
    """Collection failed in a way worth a plain message (bad credentials, unreachable server).
    `stats` holds what was collected before the failure."""

    def __init__(self, message: str, stats: "RedditStats | None" = None) -> None:
        super().__init__(message)
        self.stats = stats


class GarbledBody(requests.exceptions.ChunkedEncodingError):
    """A 200 whose body is not JSON (a proxy's error page, a cut-off answer): handled like a body
    broken in transit, so prawcore retries it."""


class _CappedRetry(Retry):
    MAX_RETRY_AFTER_S = 60.0  # a server asking for longer is answered by prawcore's error instead

    def get_retry_after(self, response: Any) -> float | None:
        try:
            after = super().get_retry_after(response)
        except Exception:  # noqa: BLE001 - an unparsable Retry-After: fall back to our own backoff
            return None
        return None if after is None else min(after, self.MAX_RETRY_AFTER_S)


class RedditSession(requests.Session):
    """The HTTP session praw uses: a hard timeout on every request (prawcore fixes its own at import
    time) and urllib3 retries of GETs on connection errors, timeouts, 429 and 5xx."""

    def __init__(self, timeout_s: float = 16.0, retries: int = 3) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        retry = _CappedRetry(total=retries, connect=retries, read=retries, status=retries, other=0,
                             backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504),
                             allowed_methods=frozenset({"GET"}), respect_retry_after_header=True,
                             raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = min(kwargs.get("timeout") or self.timeout_s, self.timeout_s)
        response = super().request(method, url, *args, **kwargs)
        if response.status_code == 200 and response.content:  # every answer praw reads is JSON
            try:
                response.json()
            except ValueError:
                raise GarbledBody(f"HTTP 200 with a body that is not JSON ({len(response.content)} bytes)") from None
        return response


def reddit_from_env(env: dict[str, str] | None = None) -> praw.Reddit:
    """A read-only praw client configured only from the environment."""
    env = dict(os.environ if env is None else env)
    client_id = env.get("REDDIT_CLIENT_ID")
    if not client_id:
        raise RedditCollectError("set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET (a Reddit 'script' or 'web' app)")
    options: dict[str, Any] = {
        "client_id": client_id,
        "client_secret": env.get("REDDIT_CLIENT_SECRET", ""),
        "user_agent": env.get("REDDIT_USER_AGENT") or DEFAULT_USER_AGENT,
        "check_for_updates": False,
        "check_for_async": False,
    }
    if env.get("REDDIT_OAUTH_URL"):
        options["oauth_url"] = env["REDDIT_OAUTH_URL"].rstrip("/")
    if env.get("REDDIT_URL"):
        options["reddit_url"] = env["REDDIT_URL"].rstrip("/")
    try:
        session = RedditSession(float(env.get("REDDIT_TIMEOUT_S") or 16), int(env.get("REDDIT_RETRIES") or 3))
    except ValueError:
        raise RedditCollectError("REDDIT_TIMEOUT_S and REDDIT_RETRIES must be numbers") from None
    reddit = praw.Reddit(**options, requestor_kwargs={"session": session})
    reddit.read_only = True
    return reddit


def parse_duration(text: str) -> timedelta:
    """'240h', '10d', '90m', '30s' -> timedelta."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    text = text.strip().lower()
    not_a_duration = ValueError(f"{text!r} is not a duration like 240h, 10d, 90m or 30s")
    if len(text) < 2 or text[-1] not in units:
        raise not_a_duration
    try:
        amount = float(text[:-1])
    except ValueError:
        raise not_a_duration from None
    if amount != amount:  # NaN
        raise not_a_duration
    if amount < 0:
        raise ValueError(f"{text!r}: a duration cannot be negative")
    try:
        return timedelta(**{units[text[-1]]: amount})
    except OverflowError:  # past timedelta's 999999999 days, infinity included
        raise ValueError(f"{text!r} is longer than any duration this can count") from None


def _top_filter(window: timedelta) -> str:
    for name, span in (("hour", timedelta(hours=1)), ("day", timedelta(days=1)), ("week", timedelta(weeks=1)),
                       ("month", timedelta(days=31)), ("year", timedelta(days=366))):
        if window <= span:
            return name
    return "all"


@dataclass
class RedditCollectConfig:
    subreddits: list[str]
    listings: tuple[str, ...] = ("new",)
    since: timedelta = timedelta(hours=240)
    as_of: datetime | None = None  # the end of the look-back window; default now (set it to replay the corpus)
    comment_depth: int = 3  # 0: posts only
    comment_limit: int = 500
    max_posts: int | None = None  # per subreddit and listing


@dataclass
class RedditStats:
    posts: int = 0
    comments: int = 0
    skipped: Counter = field(default_factory=Counter)
    requests_before: int = 0
    kafka: dict[str, Any] = field(default_factory=dict)  # the publisher's summary, at the end

    def summary(self) -> dict[str, Any]:
        return {"posts": self.posts, "comments": self.comments, "skipped": dict(self.skipped), "kafka": self.kafka}


def _raw(thing: Any, name: str) -> Any:
    """An attribute as Reddit sent it, without triggering praw's lazy fetch for a missing one."""
    return vars(thing).get(name)


def _author(thing: Any) -> str | None:
    author = _raw(thing, "author")
    return getattr(author, "name", None) if author is not None else None


def _epoch(value: Any) -> float | None:
    """Reddit's `created_utc` in seconds, or None when it is no time the lake can hold (NaN, 1e20, "soon")."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    low, high = TIME_RANGE_MS
    return seconds if low / 1000 <= seconds < high / 1000 else None  # NaN fails both


def _ts(value: Any) -> Any:
    """An ISO time for Reddit's epoch seconds; anything else as sent, so bronze quarantines it with its reason."""
    seconds = _epoch(value)
    return value if seconds is None else iso(datetime.fromtimestamp(seconds, timezone.utc))


def post_record(submission: Any, listing: str, fetched_at: datetime) -> dict[str, Any]:
    subreddit = _raw(submission, "subreddit")
    return {
        "fetched_at": iso(fetched_at), "listing": listing,
        "id": _raw(submission, "id"), "subreddit": getattr(subreddit, "display_name", subreddit),
        "author": _author(submission), "title": _raw(submission, "title"), "body": _raw(submission, "selftext"),
        "url": _raw(submission, "url"), "flair": _raw(submission, "link_flair_text"),
        "created_utc": _ts(_raw(submission, "created_utc")), "score": _raw(submission, "score"),
        "upvote_ratio": _raw(submission, "upvote_ratio"), "num_comments": _raw(submission, "num_comments"),
        "permalink": _raw(submission, "permalink"), "removed_by_category": _raw(submission, "removed_by_category"),
    }


def comment_record(comment: Any, post_id: str, subreddit: str, fetched_at: datetime) -> dict[str, Any]:
    return {
        "fetched_at": iso(fetched_at), "listing": "comments",
        "id": _raw(comment, "id"), "post_id": post_id, "parent_id": _raw(comment, "parent_id"), "subreddit": subreddit,
        "author": _author(comment), "body": _raw(comment, "body"), "created_utc": _ts(_raw(comment, "created_utc")),
        "score": _raw(comment, "score"), "depth": _raw(comment, "depth"), "permalink": _raw(comment, "permalink"),
    }


def walk_comments(forest: Iterable[Any], max_depth: int, depth: int = 0) -> Iterable[Any]:
    """Comments breadth-first down to `max_depth` levels (1: top-level only)."""
    if depth >= max_depth:
        return
    for comment in forest:
        yield comment
        yield from walk_comments(comment.replies, max_depth, depth + 1)


class RedditCollector:
    def __init__(self, reddit: praw.Reddit, publisher: Publisher, flush_timeout_s: float = 120.0) -> None:
        self.reddit = reddit
        self.publisher = publisher
        self.flush_timeout_s = flush_timeout_s

    def _send(self, topic: str, record: dict[str, Any], fetched_at: datetime) -> None:
        key = record.get("id")
        self.publisher.send(topic, str(key) if key is not None else None,
                            json.dumps(record, separators=(",", ":")), fetched_at)  # ASCII: a lone surrogate stays valid JSON

    def collect(self, config: RedditCollectConfig) -> RedditStats:
        """Collect the listings; raises RedditCollectError (or PublishError when Kafka did not take everything)."""
        stats = RedditStats()
        as_of = config.as_of or utc_now()
        oldest = (as_of - config.since).timestamp()
        seen: set[str] = set()
        try:
            for name in config.subreddits:
                subreddit = self.reddit.subreddit(name.strip().removeprefix("r/"))
                for listing in config.listings:
                    if listing not in LISTINGS:
                        raise RedditCollectError(f"unknown listing {listing!r}; use one of {', '.join(LISTINGS)}")
                    self._collect_listing(subreddit, listing, config, as_of.timestamp(), oldest, seen, stats)
        except prawcore.exceptions.TooManyRequests as exc:
            after = f", Retry-After {exc.retry_after} s" if exc.retry_after else ""
            raise RedditCollectError(f"Reddit kept rate-limiting (HTTP 429{after}) after retries", stats) from None
        except prawcore.exceptions.ServerError as exc:
            raise RedditCollectError(f"Reddit kept failing with HTTP {exc.response.status_code} after retries",
                                     stats) from None
        except prawcore.exceptions.ResponseException as exc:
            raise RedditCollectError(f"Reddit answered HTTP {exc.response.status_code}; check REDDIT_CLIENT_ID/SECRET "
                                     "and the subreddit names", stats) from None
        except prawcore.exceptions.OAuthException as exc:
            raise RedditCollectError(f"Reddit refused the app credentials: {exc}", stats) from None
        except prawcore.exceptions.RequestException as exc:
            problem = ("its answers are not JSON" if isinstance(exc.original_exception, GarbledBody)
                       else describe(exc.original_exception))
            raise RedditCollectError(f"cannot read from Reddit after retries: {problem}", stats) from None
        finally:
            try:
                self.publisher.close(self.flush_timeout_s)
            finally:
                stats.kafka = self.publisher.stats.summary()
        return stats

    def _collect_listing(self, subreddit: Any, listing: str, config: RedditCollectConfig, newest: float,
                         oldest: float, seen: set[str], stats: RedditStats) -> None:
        kwargs: dict[str, Any] = {"limit": None}
        if listing == "top":
            kwargs["time_filter"] = _top_filter(config.since)
        taken = 0
        for submission in getattr(subreddit, listing)(**kwargs):
            created = _epoch(_raw(submission, "created_utc"))  # None: sent anyway, bronze quarantines it
            if created is not None and created > newest:
                stats.skipped["after_as_of"] += 1
                continue
            if created is not None and created < oldest:
                if listing == "new":  # newest first: everything after this is older still
                    break
                stats.skipped["before_window"] += 1
                continue
            key = repr(_raw(submission, "id"))  # repr: an id Reddit sent as a list or object still compares
            if key in seen:
                stats.skipped["already_collected_this_run"] += 1
                continue
            seen.add(key)
            fetched_at = utc_now()
            record = post_record(submission, listing, fetched_at)
            self._send(REDDIT_POSTS, record, fetched_at)
            stats.posts += 1
            if config.comment_depth > 0 and isinstance(record["num_comments"], int) and record["num_comments"] > 0:
                self._collect_comments(submission, record["subreddit"], config, stats)
            taken += 1
            if config.max_posts and taken >= config.max_posts:
                break

    def _collect_comments(self, submission: Any, subreddit: str, config: RedditCollectConfig, stats: RedditStats) -> None:
        submission.comment_limit = config.comment_limit
        submission.comment_sort = "top"
        forest = submission.comments  # one GET /comments/<id>/
        fetched_at = utc_now()
        forest.replace_more(limit=0)  # drop "load more" stubs rather than spend a request on each
        for comment in walk_comments(forest, config.comment_depth):
            self._send(REDDIT_COMMENTS, comment_record(comment, submission.id, subreddit, fetched_at), fetched_at)
            stats.comments += 1
