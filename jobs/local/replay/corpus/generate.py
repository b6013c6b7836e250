"""Generate the synthetic Reddit corpus the local Reddit server replays (CC0, written by pulselake).

    python -m jobs.local.replay.corpus.generate [--seed 7] [--posts 2000]

Posts and comments are drawn from `templates.py` with a seeded RNG, dated
inside the bundled price window (2009-08-21 .. 2010-08-20). Any number a text
quotes (a close, a day's or a week's change) comes from the last session that
CLOSED before the post was written: the generator looks up bars strictly in
the past, and records that session in ``_gen.price_day`` so a test can check
it. The output is deterministic for a seed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import string
from bisect import bisect_right
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jobs.local.replay.corpus import templates as tpl
from jobs.local.replay.intraday import NEW_YORK, SESSION_SECONDS, daily_bars, session_start, trading_days

CORPUS_PATH = Path(__file__).parent / "data" / "reddit_corpus.jsonl.gz"
DEFAULT_SEED = 7
DEFAULT_POSTS = 2000


def base36(number: int) -> str:
    digits = string.digits + string.ascii_lowercase
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out or "0"


def session_close_utc(day: date) -> datetime:
    return (session_start(day) + timedelta(seconds=SESSION_SECONDS)).astimezone(timezone.utc)


class PriceContext:
    """Looks up the last session that closed strictly before a moment; never a later one."""

    def __init__(self) -> None:
        self.bars = daily_bars()
        self.days = trading_days()
        self.closes = [session_close_utc(d) for d in self.days]

    def last_closed_index(self, moment: datetime) -> int | None:
        index = bisect_right(self.closes, moment) - 1
        return index if index >= 0 else None

    def slots(self, ticker: str, moment: datetime) -> dict[str, Any] | None:
        index = self.last_closed_index(moment)
        by_day = self.bars.get(ticker, {})
        days = [d for d in self.days[: (index + 1) if index is not None else 0] if d in by_day]
        if len(days) < 6:
            return None
        today, prev, week = by_day[days[-1]], by_day[days[-2]], by_day[days[-6]]
        chg = (today.close / prev.close - 1) * 100
        wk = (today.close / week.close - 1) * 100
        assert session_close_utc(today.day) <= moment, "a text may only quote a session that has closed"
        return {"close": f"{today.close:.2f}", "chg": f"{chg:+.1f}", "wk": f"{wk:+.1f}",
                "dir": "up" if chg >= 0 else "down", "price_day": today.day.isoformat(), "_close": today.close}


class Generator:
    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.rng = random.Random(seed)
        self.prices = PriceContext()
        self.tickers = [t for t in tpl.TICKER_WEIGHTS if t in self.prices.bars]
        self.weights = [tpl.TICKER_WEIGHTS[t] for t in self.tickers]
        self.authors = self._authors(700)
        self.post_number = int("9f000", 36)
        self.comment_number = int("c0b0000", 36)

    def _authors(self, count: int) -> list[str]:
        names: set[str] = set()
        while len(names) < count:
            first, second = self.rng.choice(tpl.AUTHOR_FIRST), self.rng.choice(tpl.AUTHOR_SECOND)
            style = self.rng.random()
            if style < 0.4:
                names.add(f"{first}_{second}{self.rng.randint(1, 999)}")
            elif style < 0.7:
                names.add(f"{first.capitalize()}{second.capitalize()}")
            else:
                names.add(f"{first}{second}{self.rng.randint(10, 99)}")
        return sorted(names)

    # ------------------------------------------------------------ filling ---

    def _name(self, ticker: str) -> str:
        return self.rng.choice(tpl.COMPANY_NAMES.get(ticker, [ticker]))

    def _mention(self, ticker: str) -> str:
        """A ticker as people write it: bare, as a cashtag, or by company name."""
        roll = self.rng.random()
        if roll < 0.5:
            return ticker
        if roll < 0.75:
            return f"${ticker}"
        return self._name(ticker)

    def _fill(self, text: str, ticker: str | None, second: str | None, ctx: dict[str, Any] | None) -> str:
        close = ctx["_close"] if ctx else 50.0
        strike_step = 5 if close > 50 else (1 if close < 20 else 2.5)
        strike = round(close * self.rng.choice([0.8, 0.9, 1.0, 1.1, 1.2, 1.3]) / strike_step) * strike_step
        values = {
            "T": self._mention(ticker) if ticker else "the market",
            "CT": f"${ticker}" if ticker else "SPY",
            "N": self._name(ticker) if ticker else "the market",
            "T2": self._mention(second) if second else "the index",
            "close": ctx["close"] if ctx else "?", "chg": ctx["chg"] if ctx else "0",
            "wk": ctx["wk"] if ctx else "0", "dir": ctx["dir"] if ctx else "sideways",
            "strike": f"{strike:g}", "exp": self.rng.choice(tpl.EXPIRIES),
            "qty": str(self.rng.choice([1, 2, 5, 10, 20, 25, 50, 100, 200, 300, 500, 1000])),
            "cost": f"{close * self.rng.uniform(0.85, 1.15):.2f}", "pct": str(self.rng.choice([20, 35, 50, 80, 120, 300])),
        }
        return text.format(**values)

    def _moment(self, day: date) -> datetime:
        """A posting time: busiest around the open, lunch and the evening (New York)."""
        hour = self.rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 3, 5, 7, 10, 9, 7, 8, 7, 7, 8, 9, 8, 7, 7, 7, 6, 4, 2])[0]
        local = datetime(day.year, day.month, day.day, hour, self.rng.randint(0, 59), self.rng.randint(0, 59), tzinfo=NEW_YORK)
        return local.astimezone(timezone.utc)

    # -------------------------------------------------------------- items ---

    def post(self, subreddit: str, moment: datetime) -> dict[str, Any]:
        weights = tpl.STYLE_WEIGHTS[subreddit]
        style = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        titles, bodies = tpl.STYLES[style]
        wants_ticker = style not in ("offtopic",) and not (style in ("meme", "question") and self.rng.random() < 0.4)
        ticker = second = ctx = None
        if wants_ticker:
            for _ in range(5):  # a ticker with enough past bars at this moment
                ticker = self.rng.choices(self.tickers, weights=self.weights)[0]
                ctx = self.prices.slots(ticker, moment)
                if ctx:
                    break
            if ctx is None:
                ticker = None
            second = self.rng.choice([t for t in self.tickers if t != ticker])
        pool_titles = titles if ticker else [t for t in titles if "{" not in t] or tpl.OFFTOPIC_TITLES
        pool_bodies = bodies if ticker else [b for b in bodies if "{" not in b] or [""]
        title = self._fill(self.rng.choice(pool_titles), ticker, second, ctx)
        body = self._fill(self.rng.choice(pool_bodies), ticker, second, ctx)
        if self.rng.random() < 0.3:
            snippet = self.rng.choice(tpl.CAPS_SNIPPETS).format(w=self.rng.choice(tpl.CAPS_WORDS))
            body = f"{body}\n\n{snippet}".strip()
        boost = {"wallstreetbets": 1.2, "stocks": 0.6, "investing": 0.4, "options": 0.2}[subreddit]
        score = max(0, int(math.exp(self.rng.gauss(1.5 + boost, 1.4))) - 1)
        self.post_number += self.rng.randint(3, 60)
        post_id = base36(self.post_number)
        state = self.rng.choices(["live", "deleted", "removed"], weights=[95, 3, 2])[0]
        return {
            "kind": "t3", "id": post_id, "subreddit": subreddit, "author": self.rng.choice(self.authors),
            "title": title, "selftext": body, "created_utc": int(moment.timestamp()), "score": score,
            "upvote_ratio": round(self.rng.uniform(0.55, 0.99), 2), "link_flair_text": tpl.FLAIRS[style],
            "state": state,
            "_gen": {"style": style, "tickers": [t for t in (ticker, second) if t and ticker], "price_day": ctx["price_day"] if ctx else None},
        }

    def comments(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        mean = 0.6 + math.log1p(post["score"]) * 0.55
        count = min(int(self.rng.expovariate(1 / mean)), 40)
        created = datetime.fromtimestamp(post["created_utc"], timezone.utc)
        ticker = post["_gen"]["tickers"][0] if post["_gen"]["tickers"] else None
        second = post["_gen"]["tickers"][1] if len(post["_gen"]["tickers"]) > 1 else None
        ctx = self.prices.slots(ticker, created) if ticker else None
        out: list[dict[str, Any]] = []
        for _ in range(count):
            parent = None
            if out and self.rng.random() < 0.45:
                candidates = [c for c in out if c["_gen"]["depth"] < 4]
                parent = self.rng.choice(candidates) if candidates else None
            base = datetime.fromtimestamp(parent["created_utc"], timezone.utc) if parent else created
            moment = base + timedelta(minutes=self.rng.expovariate(1 / 45) + 0.5)
            if post["_gen"]["style"] == "question" and not parent and self.rng.random() < 0.5:
                mood = "answer"
            else:
                mood = self.rng.choices(list(tpl.COMMENT_MOODS), weights=[3, 3, 4, 3, 1])[0]
            pool = tpl.COMMENT_MOODS[mood] if ticker else [c for c in tpl.COMMENT_MOODS[mood] if "{" not in c] or tpl.COMMENTS_JOKES
            body = self._fill(self.rng.choice(pool), ticker, second, ctx)
            self.comment_number += self.rng.randint(1, 25)
            depth = parent["_gen"]["depth"] + 1 if parent else 0
            out.append({
                "kind": "t1", "id": base36(self.comment_number), "link_id": post["id"],
                "parent_id": f"t1_{parent['id']}" if parent else f"t3_{post['id']}", "subreddit": post["subreddit"],
                "author": self.rng.choice(self.authors), "body": body, "created_utc": int(moment.timestamp()),
                "score": max(-5, int(math.exp(self.rng.gauss(0.8, 1.1))) - 2),
                "state": self.rng.choices(["live", "deleted", "removed"], weights=[95, 4, 1])[0],
                "_gen": {"mood": mood, "depth": depth, "price_day": ctx["price_day"] if ctx else None},
            })
        return out

    def corpus(self, posts: int) -> list[dict[str, Any]]:
        first, last = self.prices.days[5], self.prices.days[-1] + timedelta(days=1)
        span = (last - first).days
        subreddits = list(tpl.SUBREDDIT_SHARE)
        items: list[dict[str, Any]] = []
        moments = sorted(self._moment(first + timedelta(days=self.rng.randrange(span + 1))) for _ in range(posts))
        for moment in moments:
            subreddit = self.rng.choices(subreddits, weights=list(tpl.SUBREDDIT_SHARE.values()))[0]
            post = self.post(subreddit, moment)
            items.append(post)
            items.extend(self.comments(post))
        return items


def write_corpus(items: list[dict[str, Any]], path: Path = CORPUS_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same corpus gives the same bytes, so regenerating does not dirty git.
    with gzip.GzipFile(path, "wb", mtime=0) as raw:
        for item in items:
            raw.write((json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n").encode())


def load_corpus(path: Path = CORPUS_PATH) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--posts", type=int, default=DEFAULT_POSTS)
    parser.add_argument("--out", type=Path, default=CORPUS_PATH)
    args = parser.parse_args()
    items = Generator(args.seed).corpus(args.posts)
    write_corpus(items, args.out)
    posts = sum(1 for i in items if i["kind"] == "t3")
    print(f"wrote {posts} posts and {len(items) - posts} comments to {args.out}")


if __name__ == "__main__":
    main()
