"""The default scorer reads finance talk the way a trader does; VADER, the baseline, does not."""

import pytest

from jobs.sentiment.base import Post
from jobs.sentiment.vader import VaderScorer

FINANCE_EXAMPLES = [
    ("Good time to sell $TSLA, we'll make a ton of money shorting this", "bearish", ["TSLA"]),
    ("puts printing on NVDA, this is going to zero", "bearish", ["NVDA"]),
    ("bears getting wrecked on Apple again", "bullish", ["AAPL"]),
    ("$AMD is not going down anytime soon, loading more", "bullish", ["AMD"]),
    ("Microsoft will report quarterly earnings on Thursday after the close.", "neutral", ["MSFT"]),
    ("Oh great, another 15% drop in Intel, love this for my portfolio", "bearish", ["INTC"]),
    ("Does anyone know when Boeing reports?", "neutral", ["BA"]),
]


def test_minilm_reads_finance_examples(minilm):
    results = minilm.score([Post(str(i), text) for i, (text, _, _) in enumerate(FINANCE_EXAMPLES)])
    assert [r.id for r in results] == [str(i) for i in range(len(FINANCE_EXAMPLES))]
    for result, (text, label, tickers) in zip(results, FINANCE_EXAMPLES):
        assert result.label == label, (text, result)
        assert result.tickers == tickers
        assert -1.0 <= result.score <= 1.0
        assert (result.score > 0.2) if label == "bullish" else (result.score < -0.2) if label == "bearish" else abs(result.score) < 0.5
        assert result.reason.startswith(label)
    assert minilm.version.startswith("minilm-head-v1+")
    assert minilm.score([]) == []


def test_vader_is_the_generic_baseline_and_misreads_shorting():
    vader = VaderScorer()
    shorting, crash = vader.score([Post("a", FINANCE_EXAMPLES[0][0]), Post("b", "The stock crashed, a terrible awful loss")])
    assert shorting.label == "bullish"  # "good", "money": VADER hears happy words
    assert crash.label == "bearish" and crash.score < -0.5
    assert shorting.tickers == ["TSLA"] and vader.version.startswith("vader-")


def test_registry_refuses_unknown_scorers():
    from jobs.sentiment.registry import make_scorer

    with pytest.raises(ValueError, match="unknown scorer"):
        make_scorer("bert")
