"""Hypothesis strategies for hostile input, shared by the property tests of every parser.

Hostile means what a broken or malicious peer can send: random bytes and text,
any JSON value, wrong types, NaN and infinities, numbers past every integer
width, nesting deep enough to blow Python's recursion limit, and valid records
cut short or with one field swapped for garbage.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from hypothesis import strategies as st

from jobs.local.loopback_http import LoopbackHttp

HUGE_NUMBERS = st.sampled_from([
    10**30, -(10**30), 2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 2**31, 10**400, 1e308, -1e308, 5e-324,
    float("nan"), float("inf"), float("-inf"), -0.0,
])
ODD_TEXT = st.sampled_from(["", " ", "\t", "\n", "null", "NaN", "Infinity", "-inf", "1e400", "0x1F", "１２３",
                            "\u0000", "\u202e", "é", "💥", "'", '"', "\\", ",", "{", "[", "]]", "true", "-"])

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | HUGE_NUMBERS | st.text(max_size=20)
                | ODD_TEXT)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8) | ODD_TEXT, inner, max_size=4),
    max_leaves=12,
)
# Integers past Python's 4300-digit conversion limit: json.loads raises a ValueError that is no JSONDecodeError.
long_literals = st.sampled_from(["1" + "0" * 5000, '{"id": 1' + "0" * 5000 + ', "text": "x"}', "[" + "9" * 5000 + "]"])
# Far past sys.getrecursionlimit(): json.loads raises RecursionError, not ValueError, on these.
deep_nesting = st.builds(lambda n, opener: opener * n, st.integers(min_value=1_500, max_value=60_000),
                         st.sampled_from(["[", '{"a":', '{"type":"trade","data":[']))


def dumps(value: Any) -> str:
    """JSON as Python writes it, NaN and Infinity included (peers that are not strict do the same)."""
    return json.dumps(value, allow_nan=True, ensure_ascii=False)


def truncations(text: str) -> st.SearchStrategy[str]:
    """Every proper prefix of `text`: a record cut off mid-flight."""
    return st.integers(min_value=0, max_value=max(0, len(text) - 1)).map(lambda i: text[:i])


def with_one_field_broken(record: dict, fields: list[str]) -> st.SearchStrategy[dict]:
    """`record` with one field given a hostile value, dropped, or joined by an unknown one."""
    field = st.sampled_from(fields)
    replaced = st.builds(lambda f, v: {**record, f: v}, field, json_values | HUGE_NUMBERS | ODD_TEXT)
    dropped = field.map(lambda f: {k: v for k, v in record.items() if k != f})
    extra = st.builds(lambda k, v: {**record, f"x_{k}": v}, st.text(max_size=6), json_values)
    return st.one_of(replaced, dropped, extra)


def hostile_text(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text a peer might send instead of a valid record drawn from `valid`."""
    return st.one_of(
        st.text(),
        st.binary().map(lambda b: b.decode("utf-8", errors="replace")),
        json_values.map(dumps),
        deep_nesting,
        long_literals,
        valid.flatmap(truncations),
        ODD_TEXT,
    )


def short(value: Any) -> str:
    """A repr small enough for an assertion message."""
    text = repr(value)
    return text if len(text) < 400 else f"{text[:300]}...({len(text)} chars)"


def spark_examples(max_examples: int):
    """Settings for a property test whose body runs Spark jobs: few examples, each a DataFrame of many
    records, and no shrinking (each step would be another Spark job); messages name the offending record."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(max_examples=max_examples, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])


def number(value: Any) -> float | None:
    """The double a JSON value stands for (a number, or a text such as "NaN" that Spark reads as one), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None
    except OverflowError:  # an integer past any double
        return math.inf if value > 0 else -math.inf


def integer(value: Any) -> int | None:
    """The integer a JSON value or a text stands for exactly (1e3 and 7.0 are integers, 1.5 is not), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, int):
        return value
    try:
        exact = Decimal(value) if isinstance(value, float) else Decimal(value.strip())
    except InvalidOperation:
        return None
    return int(exact) if exact.is_finite() and exact == exact.to_integral_value() else None


def same_number(kept: Any, sent: Any) -> bool:
    """Whether a number column kept `sent` exactly: an integer column the very integer (not rounded through a
    double), a double column the double Python reads in it (NaN counts as itself)."""
    if isinstance(kept, int) and not isinstance(kept, bool):
        return kept == integer(sent)
    expected = number(sent)
    return expected is not None and kept is not None and (kept == expected or (kept != kept and expected != expected))


class CannedServer(LoopbackHttp):
    """An HTTP server on 127.0.0.1 that answers every request with `reply` (status, headers, body bytes),
    whatever was asked: a peer that says what a test wants, over real sockets.
    ``with CannedServer() as server: server.reply = (200, {...}, b"..."); server.url``."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler

        self.reply: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.requests += 1
                status, headers, body = server.reply
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        super().__init__(Handler, name="canned-server")

    @property
    def url(self) -> str:
        return self.root
