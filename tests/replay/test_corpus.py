"""The synthetic Reddit corpus: size, variety, and no text quoting a price before it existed."""

from __future__ import annotations

import gzip
import re
from collections import Counter
from datetime import date, datetime, timezone

from jobs.local.replay.corpus.generate import CORPUS_PATH, DEFAULT_POSTS, DEFAULT_SEED, Generator, load_corpus, session_close_utc


def test_corpus_size_variety_and_dates():
    items = load_corpus()
    posts = [i for i in items if i["kind"] == "t3"]
    comments = [i for i in items if i["kind"] == "t1"]
    assert len(posts) >= 1500 and len(comments) >= 2000
    assert set(Counter(p["subreddit"] for p in posts)) == {"wallstreetbets", "stocks", "investing", "options"}
    styles = Counter(p["_gen"]["style"] for p in posts)
    assert set(styles) == {"dd", "yolo", "options", "news", "question", "sarcasm", "meme", "offtopic"}
    assert min(styles.values()) >= 50
    created = [datetime.fromtimestamp(i["created_utc"], timezone.utc).date() for i in items]
    assert date(2009, 8, 21) <= min(created) and max(created) <= date(2010, 8, 31)
    text = "\n".join(f"{p['title']} {p['selftext']}" for p in posts) + "\n".join(c["body"] for c in comments)
    assert len(re.findall(r"\$[A-Z]{1,5}\b", text)) > 200  # cashtags
    assert len(re.findall(r"\bAAPL\b", text)) > 50  # bare tickers
    assert text.count("Apple") > 20 and text.count("Goldman") > 5  # company names
    for caps in ("YOLO", "CEO", "FED", "EPS", "IMO"):  # ALL-CAPS words that are not tickers
        assert caps in text
    assert Counter(p["state"] for p in posts)["deleted"] > 10 and Counter(c["state"] for c in comments)["removed"] > 5
    assert len({i["id"] for i in items}) == len(items)
    ids = {p["id"] for p in posts} | {c["id"] for c in comments}
    assert all(c["parent_id"][3:] in ids for c in comments)


def test_texts_only_quote_sessions_that_had_closed():
    checked = 0
    for item in load_corpus():
        day = item["_gen"].get("price_day")
        if day:
            closed = session_close_utc(date.fromisoformat(day))
            assert closed <= datetime.fromtimestamp(item["created_utc"], timezone.utc), item["id"]
            checked += 1
    assert checked > 1500


def test_committed_corpus_is_what_the_generator_makes(tmp_path):
    from jobs.local.replay.corpus.generate import write_corpus

    out = tmp_path / "corpus.jsonl.gz"
    write_corpus(Generator(DEFAULT_SEED).corpus(DEFAULT_POSTS), out)
    assert gzip.decompress(out.read_bytes()) == gzip.decompress(CORPUS_PATH.read_bytes())
