"""The one token bucket (jobs/resources/ratelimit.py), on a fake clock, for both of its users.

Finnhub's REST client takes one token per call from a small bucket; the LLM scorer takes a request's
token count, which may be more than the bucket holds. Times are virtual, so the checks are exact.
"""

from __future__ import annotations

import random
import threading

import pytest

from jobs.resources.ratelimit import TokenBucket

EPS = 1e-6


class FakeTime:
    """A clock that only moves when someone sleeps: sleep(s) advances it by s and records s."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def bucket(self, per_minute: float, capacity: float | None = None) -> TokenBucket:
        return TokenBucket(per_minute, capacity, clock=self.clock, sleep=self.sleep)


def assert_within_rate(grants: list[tuple[float, float]], per_second: float, burst: float) -> None:
    """No window [t_i, t_j] holds more than `burst + per_second * (t_j - t_i)` units."""
    grants = sorted(grants)
    for i in range(len(grants)):
        total = 0.0
        for j in range(i, len(grants)):
            total += grants[j][1]
            assert total <= burst + per_second * (grants[j][0] - grants[i][0]) + EPS, (i, j, total)


def test_finnhub_shape_one_call_per_second_without_burst():
    t = FakeTime()
    bucket = t.bucket(60, capacity=1)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == [0, pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0)]
    assert t.now == pytest.approx(4.0)


def test_bursts_up_to_capacity_then_waits_for_the_refill():
    t = FakeTime()
    bucket = t.bucket(60, capacity=3)
    assert [bucket.acquire() for _ in range(3)] == [0, 0, 0]
    assert bucket.acquire() == pytest.approx(1.0)  # 1 a second
    assert t.slept == [pytest.approx(1.0)]


def test_capacity_defaults_to_a_minutes_budget_like_the_llm_quotas():
    t = FakeTime()
    bucket = t.bucket(600)  # as LLMScorer builds its buckets
    assert bucket.capacity == 600
    assert sum(bucket.acquire() for _ in range(600)) == 0
    assert bucket.acquire() == pytest.approx(0.1)


def test_idle_time_refills_only_up_to_capacity():
    t = FakeTime()
    bucket = t.bucket(60, capacity=2)
    bucket.acquire(2)
    t.now += 1_000  # a long quiet spell does not bank more than the burst
    assert bucket.acquire() == 0 and bucket.acquire() == 0
    assert bucket.acquire() == pytest.approx(1.0)


@pytest.mark.parametrize("capacity", [1, 5])
def test_rate_holds_over_many_single_calls(capacity):
    t = FakeTime()
    bucket = t.bucket(120, capacity=capacity)  # 2 a second
    grants = []
    for _ in range(300):
        bucket.acquire()
        grants.append((t.now, 1.0))
    assert t.now == pytest.approx((300 - capacity) / 2)  # as fast as allowed, and no faster
    assert_within_rate(grants, 2, capacity)


def test_rate_holds_over_many_token_counts_with_idle_gaps():
    t = FakeTime()
    rng = random.Random(7)
    bucket = t.bucket(6_000, capacity=1_000)  # LLM tokens: 100 a second
    grants = []
    for _ in range(300):
        amount = rng.randint(1, 1_000)
        bucket.acquire(amount)
        grants.append((t.now, float(amount)))
        t.now += rng.choice([0, 0, 0, rng.uniform(0, 5)])
    assert_within_rate(grants, 100, 1_000)


def test_oversized_request_waits_for_a_full_bucket_then_the_next_ones_pay_its_debt():
    t = FakeTime()
    bucket = t.bucket(600, capacity=100)  # 10 a second
    assert bucket.acquire(50) == 0
    assert bucket.acquire(250) == pytest.approx(5.0)  # refill the missing 50, then go at once
    assert t.now == pytest.approx(5.0)
    assert bucket.acquire(1) == pytest.approx(15.1)  # 150 of debt plus its own 1
    # over the whole run, 301 units in 20.1 s: exactly the burst plus the rate
    assert 50 + 250 + 1 == pytest.approx(100 + 10 * t.now)


def test_oversized_request_on_a_full_bucket_goes_at_once():
    t = FakeTime()
    bucket = t.bucket(60, capacity=10)
    assert bucket.acquire(25) == 0
    assert bucket.acquire(10) == pytest.approx(25.0)  # 15 of debt, then a full 10


@pytest.mark.parametrize("per_minute, capacity", [(0, 1), (-1, 1), (60, 0), (60, -1), (float("inf"), 1),
                                                  (60, float("nan")), (float("nan"), None)])
def test_nonsense_limits_are_refused(per_minute, capacity):
    with pytest.raises(ValueError):
        TokenBucket(per_minute, capacity)


@pytest.mark.parametrize("amount", [0, -1, float("inf"), float("nan")])
def test_nonsense_amounts_are_refused(amount):
    with pytest.raises(ValueError):
        TokenBucket(60).acquire(amount)


class ThreadedTime:
    """Virtual time for several threads: a thread that sleeps s resumes at its reading + s, and the shared
    clock never runs backwards, so a grant's time is the reading its acquire took plus the wait returned."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()

    def clock(self) -> float:
        with self._lock:
            self._now = max(self._now, getattr(self._local, "resume", 0.0)) + 0.001  # a little work between calls
            self._local.read = self._now
            return self._now

    def sleep(self, seconds: float) -> None:
        self._local.resume = self._local.read + seconds

    def last_read(self) -> float:
        return self._local.read


@pytest.mark.parametrize("amounts", [(1,), (1, 40, 100, 250)], ids=["calls", "llm-tokens"])
def test_threads_together_never_exceed_the_rate_and_each_waits_its_turn(amounts):
    t = ThreadedTime()
    bucket = TokenBucket(600, capacity=100, clock=t.clock, sleep=t.sleep)  # 10 a second
    threads_n, rounds = 6, 40
    grants: list[tuple[float, float]] = []
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads_n)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        start.wait()
        for _ in range(rounds):
            amount = rng.choice(amounts)
            waited = bucket.acquire(amount)
            with lock:
                grants.append((t.last_read() + waited, float(amount)))
                waits.append(waited)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(grants) == threads_n * rounds
    largest = max(amounts)
    # an oversized grant may overshoot the burst by its excess, never the long-run rate
    assert_within_rate(grants, 10, max(100, largest))
    # fair: each thread has at most one request queued, so no wait is longer than a full bucket plus
    # one of everyone's (an oversized one's debt included)
    assert max(waits) <= (100 + threads_n * largest) / 10 + EPS
    # and the bucket was kept busy: after the first burst, the last grant comes as soon as the rate allows
    total = sum(amount for _, amount in grants)
    assert max(g for g, _ in grants) <= (total - 100) / 10 + 1


def test_a_sleeping_waiter_does_not_hold_up_the_next_one_who_queues_behind_it():
    t = FakeTime()
    in_sleep, release = threading.Event(), threading.Event()
    waits: dict[str, float] = {}

    def sleep(seconds: float) -> None:
        if threading.current_thread().name == "first":
            in_sleep.set()
            release.wait(30)  # longer than the second is given below

    bucket = TokenBucket(60, capacity=1, clock=t.clock, sleep=sleep)
    bucket.acquire()  # empty now
    first = threading.Thread(name="first", target=lambda: waits.__setitem__("first", bucket.acquire()))
    first.start()
    assert in_sleep.wait(10)
    second = threading.Thread(name="second", target=lambda: waits.__setitem__("second", bucket.acquire()))
    second.start()
    second.join(5)
    release.set()
    assert not second.is_alive()  # it got its turn while the first was still asleep
    first.join(10)
    assert waits == {"first": pytest.approx(1.0), "second": pytest.approx(2.0)}  # served in arrival order

