"""Hypothesis strategies for what the collectors receive: Finnhub trade frames, real-shaped and damaged."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.hostile import HUGE_NUMBERS, deep_nesting, dumps, hostile_text, json_values, with_one_field_broken

symbols = st.from_regex(r"[A-Z]{1,5}(\.[A-Z])?|BINANCE:[A-Z]{6,8}|OANDA:[A-Z]{3}_[A-Z]{3}", fullmatch=True)
trades = st.fixed_dictionaries(
    {"s": symbols, "p": st.floats(min_value=1e-4, max_value=1e6) | st.integers(1, 10**6),
     "t": st.integers(min_value=946_684_800_000, max_value=4_102_444_800_000),  # 2000..2100, ms since epoch
     "v": st.floats(min_value=0, max_value=1e9) | st.integers(0, 10**9)},
    optional={"c": st.none() | st.lists(st.sampled_from(["1", "8", "12", "24"]), max_size=3)},
)
trade_frames = st.lists(trades, min_size=1, max_size=20).map(lambda data: {"type": "trade", "data": data})
PING = '{"type":"ping"}'

# A real frame with its first trade damaged: the trades are known, so what bronze keeps can be checked.
frames_with_a_broken_trade = trade_frames.flatmap(
    lambda f: with_one_field_broken(f["data"][0], ["s", "p", "t", "v", "c"]).map(
        lambda t: {**f, "data": [t, *f["data"][1:]]}))
# ... or with one of its numbers swapped for an odd one (times past any calendar, NaN, 1e400).
frames_with_an_odd_number = st.builds(
    lambda f, field, value: {**f, "data": [{**f["data"][0], field: value}, *f["data"][1:]]},
    trade_frames, st.sampled_from(["p", "t", "v"]), HUGE_NUMBERS | st.integers() | st.floats())
broken_frames = st.one_of(
    trade_frames.flatmap(lambda f: with_one_field_broken(f, ["type", "data"])),
    frames_with_a_broken_trade,
    frames_with_an_odd_number,
    st.builds(lambda d: {"type": "trade", "data": d}, json_values),
    st.builds(lambda m: {"type": "error", "msg": m}, json_values),
)
hostile_frame_texts = st.one_of(hostile_text(trade_frames.map(dumps)), broken_frames.map(dumps))
hostile_frames = st.one_of(hostile_frame_texts, st.binary(), deep_nesting.map(str.encode))


def praw_thing(reddit, kind: str, data: dict):
    """The praw object Reddit's listing JSON becomes (`kind` t3: Submission, t1: Comment), built by praw's
    own objector with no request; None where praw itself cannot read `data`."""
    try:
        return reddit._objector.objectify(data={"kind": kind, "data": data})
    except (TypeError, ValueError):  # praw refuses e.g. an empty author or a subreddit that is no text
        return None


# ------------------------------------------------------------------ Reddit ---
# A listing child's `data` as Reddit (and the replay server) sends it, and damaged variants.

_words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
reddit_times = st.floats(min_value=1_136_073_600, max_value=2_000_000_000)  # 2006..2033, seconds
post_data = st.fixed_dictionaries({
    "id": st.from_regex(r"[0-9a-z]{5,7}", fullmatch=True),
    "subreddit": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_]{2,20}", fullmatch=True),
    "author": st.from_regex(r"[A-Za-z0-9_-]{3,20}", fullmatch=True) | st.just("[deleted]"),
    "title": _words, "selftext": _words | st.sampled_from(["[deleted]", "[removed]"]),
    "created_utc": reddit_times, "score": st.integers(-10**5, 10**7), "upvote_ratio": st.floats(0, 1),
    "num_comments": st.integers(0, 10**5), "permalink": st.just("/r/stocks/comments/abc12/"),
    "url": st.just("https://www.reddit.com/r/stocks/comments/abc12/"),
    "link_flair_text": st.none() | _words, "removed_by_category": st.sampled_from([None, "deleted", "moderator"]),
})
comment_data = st.fixed_dictionaries({
    "id": st.from_regex(r"[0-9a-z]{5,7}", fullmatch=True),
    "parent_id": st.from_regex(r"t[13]_[0-9a-z]{5,7}", fullmatch=True),
    "author": st.from_regex(r"[A-Za-z0-9_-]{3,20}", fullmatch=True) | st.just("[deleted]"),
    "body": _words, "created_utc": reddit_times, "score": st.integers(-10**5, 10**6), "depth": st.integers(0, 10),
    "permalink": st.just("/r/stocks/comments/abc12/_/def34/"),
})
broken_post_data = post_data.flatmap(lambda d: with_one_field_broken(d, sorted(d)))
broken_comment_data = comment_data.flatmap(lambda d: with_one_field_broken(d, sorted(d)))
