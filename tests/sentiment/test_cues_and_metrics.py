from jobs.sentiment.cues import BEAR, BULL, find_cues
from jobs.sentiment.metrics import evaluate


def polarity(text):
    return sum(c.polarity for c in find_cues(text))


def test_finance_cues_read_options_and_short_selling_talk():
    assert polarity("puts printing") < 0
    assert polarity("bears getting wrecked") > 0
    assert polarity("Good time to sell, we'll make a ton of money shorting this") < 0
    assert polarity("shorts are trapped, squeeze incoming") > 0
    assert polarity("my calls got wiped out") < 0


def test_negation_flips_a_cue():
    cues = find_cues("TSLA is not going down anytime soon")
    assert [c.polarity for c in cues] == [BULL] and cues[0].negated
    assert [c.polarity for c in find_cues("I wouldn't short it here")] == [BULL]
    assert [c.polarity for c in find_cues("there is no reason to sell")] == [BULL]
    assert [c.polarity for c in find_cues("I'm not buying the dip")] == [BEAR]


def test_evaluate_counts_macro_f1_and_confusion():
    result = evaluate(["bullish", "bearish", "neutral", "bullish"], ["bullish", "bullish", "neutral", "bullish"])
    assert result.n == 4 and result.accuracy == 0.75
    assert result.confusion["bearish"]["bullish"] == 1
    assert abs(result.macro_f1 - (0.8 + 0.0 + 1.0) / 3) < 1e-9
    assert result.last_line() == "macro_f1=0.6000 accuracy=0.7500 n=4"
