"""Finance phrase cues: the words that flip generic sentiment on a trading desk.

Generic sentiment calls "we'll make a ton of money shorting this" happy; a
trader reads it as bearish for the stock. These cues are written from market
vocabulary (options, short selling, earnings-news verbs), not from the corpus.
They serve twice: as a few extra features beside the sentence embedding in the
default head, and as the human-readable `reason` every scorer returns.

Longer, more specific phrases are matched first and consume their span, so
"shorts getting squeezed" counts once (bullish), never also as "short" (bearish).
A negator within three words before a cue in the same clause flips it
("not going down", "wouldn't short").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BULL, BEAR, NEUTRAL = 1, -1, 0

# (pattern, polarity); ordered from specific to generic. Patterns run on lowercased text.
_RAW_CUES: list[tuple[str, int]] = [
    # options and short-selling talk: who is winning decides the direction
    (r"(sold|selling|sell) (my |some |cash[- ]secured )?puts|put sellers|puts? (expired|expire|expiring) worthless", BULL),
    (r"calls? (got |are |were )?(wiped|expired worthless|expire worthless|down \d+%)", BEAR),
    (r"(bears?|shorts?|short sellers?|haters|doubters)( on \S+)? (are |were |got |getting |have been |keep )?"
     r"(wrecked|rekt|destroyed|crushed|trapped|squeezed|covering|torched|burned|burnt|in denial|crying|wrong|liquidated)", BULL),
    (r"(bulls?|longs?|bagholders?)( on \S+)? (are |were |got |getting |have been )?"
     r"(wrecked|rekt|destroyed|crushed|trapped|crying|in shambles|liquidated)", BEAR),
    (r"short squeeze|squeeze|shorts? covering|covered their (short )?positions|rushed to cover", BULL),
    (r"calls? (are |were |is )?(printing|paid|up \d+%)|(loaded|loading|bought|buying|riding) (up on )?(\S+ )?(calls|leaps)|calls? on", BULL),
    (r"puts? (are |were |is )?(printing|paid|up \d+%)|(loaded|loading|bought|buying) (up on )?(\S+ )?puts|puts? on|\d+p\b|buying (straight )?puts", BEAR),
    (r"\d+c\b", BULL),
    (r"short(ing|ed)?|short positions?|(my|our) shorts|easiest short|easy short|inverse", BEAR),
    # forum slang
    (r"to the moon|moon|🚀|📈|diamond hands|backing up the truck|buy(ing)? (the |every (single )?)?dips?|dip buyers|"
     r"ripping|rip(s)? higher|going parabolic|parabolic|breaking out|breakout|bullish|eating good|printing|"
     r"loaded up|loading up|adding|averaging down|accumulat\w+|undervalued|cheap|bargain|gift|compounder|cash machine|"
     r"crushing it|paid off|paying off|staying long|going long|i'?m long|long term|hold(ing)? forever|turnaround|"
     r"just getting started|new highs?|all-time high|record high|green", BULL),
    (r"to zero|going to zero|bagholders?|bubble|overvalued|dead cat|value trap|rip bagholders|in shambles|dumpster fire|"
     r"get out|cash(ing)? out|cutting losses|took my loss|dump(ed|ing)?|money pit|uninvestable|dying|toast|stay away|"
     r"ten-foot pole|waterfall|bearish|lower lows|red candle|red|bleeding|heading (much |even )?lower|downside|"
     r"going back to|at the top|sell(ing)?( all)?|sell-off|selloff|rug pull", BEAR),
    # news verbs and events
    (r"beat(s)?( analyst)? (estimates|expectations|forecasts)|beat on|topped (estimates|forecasts|expectations)|"
     r"better[- ]than[- ]expected|ahead of expectations|above (estimates|expectations|targets)|exceed(ed|s)?|blowout", BULL),
    (r"(raised|raises|raise|lifted|lifts|hiked|hikes|boosted|boosts) (its |their |the )?(full-year |annual |quarterly )?"
     r"(guidance|outlook|forecast|dividend|targets?|price targets?)|upgrade[sd]?|buyback|repurchase", BULL),
    (r"record (quarterly )?(revenue|profit|sales|quarter|levels|backlog)|swung to a profit|turned profitable|"
     r"most profitable|approv(ed|al)|won (a |an )?(\S+ )?(contract|order)|premium|accelerat\w+|margins? expand\w*|"
     r"rebound\w*|outperform\w*|upside|stronger|strong demand|reaffirmed its long-term growth", BULL),
    (r"jump(ed|s)?|surg(ed|es|e)|soar(ed|s|ing)?|climb(ed|s)?|rall(y|ied|ies)|gain(ed|s)?|rose|rises|higher|up \d+%|go(es|ing)? up", BULL),
    (r"miss(ed|es)?( analyst)? (estimates|expectations|forecasts)|missed|below (estimates|expectations)|"
     r"guided below|disappoint\w*|worse[- ]than[- ]expected|surprise loss", BEAR),
    (r"(cut|cuts|lowered|lowers|slashed|slashes|withdrew|withdraws|suspended|suspends)( its| their| the)?"
     r"( full-year| annual| quarterly| revenue| profit)? (guidance|outlook|forecast|dividend|price targets?|targets?)|"
     r"downgrade[sd]?|warn(ed|s|ing)?", BEAR),
    (r"bankrupt\w*|fraud|investigation|probe|lawsuit|penalt\w+|fined|fine of|lay(s|ing)? off|layoffs?|job cuts|"
     r"recall(ed|s)?|junk|going concern|dilut\w+|stock offering|rejected|delay(ed|s)?|shr(ank|ink\w*)|hurt|headwinds|"
     r"weak\w*|slow\w*|declin\w+|52-week low|losses|loss|lose|losing|lost|poor|ugly|worst|collaps\w+|crunch", BEAR),
    (r"fell|fall(s|ing)?|drop(ped|s)?|tumbl(ed|es|e)|plung(ed|es|e)|sank|sink(s|ing)?|slid(e|es)?|slump(ed|s)?|"
     r"crash(ed|es|ing)?|tank(ed|s|ing)?|lower|down \d+%|lost \d+%|go(es|ing)? down", BEAR),
    # neutral framing: schedules, unchanged numbers, open questions
    (r"in line with|unchanged|little changed|flat|sideways|no position|either way|no strong|neither|"
     r"will (report|hold|present|webcast|release|speak|showcase)|scheduled|conference|annual (shareholder )?meeting", NEUTRAL),
]
_CUES = [(re.compile(rf"(?<![\w$]){pattern}(?!\w)"), polarity) for pattern, polarity in _RAW_CUES]
_NEGATORS = re.compile(
    r"\b(not|never|no|nobody|don't|dont|doesn't|won't|wont|wouldn't|isn't|aren't|can't|cannot|refuses? to|zero chance|stop)\b"
)
_CLAUSE_BREAK = re.compile(r"[,.;!?:]|\bbut\b")


@dataclass(frozen=True)
class Cue:
    text: str
    polarity: int  # +1 bullish, -1 bearish, 0 neutral framing (after negation)
    negated: bool = False


def find_cues(text: str) -> list[Cue]:
    """The finance cues in `text`, in reading order, negation applied."""
    lowered = text.lower()
    taken = [False] * len(lowered)
    found: list[tuple[int, Cue]] = []
    for pattern, polarity in _CUES:
        for match in pattern.finditer(lowered):
            start, end = match.span()
            if start == end or any(taken[start:end]):
                continue
            for i in range(start, end):
                taken[i] = True
            negated = polarity != NEUTRAL and _negated(lowered, start)
            found.append((start, Cue(match.group(0), -polarity if negated else polarity, negated)))
    return [cue for _, cue in sorted(found, key=lambda item: item[0])]


def _negated(lowered: str, start: int) -> bool:
    before = lowered[max(0, start - 40):start]
    clause = _CLAUSE_BREAK.split(before)[-1]
    words = clause.split()[-3:]
    return bool(_NEGATORS.search(" ".join(words)))


def cue_features(text: str) -> list[float]:
    """Numbers the head sees beside the embedding: bullish, bearish and neutral cue
    counts (squashed) and whether the post asks a question."""
    cues = find_cues(text)
    bull = sum(1 for c in cues if c.polarity == BULL)
    bear = sum(1 for c in cues if c.polarity == BEAR)
    neutral = sum(1 for c in cues if c.polarity == NEUTRAL)
    question = 1.0 if "?" in text else 0.0
    return [min(bull, 3) / 3, min(bear, 3) / 3, min(neutral, 2) / 2, question]


CUE_FEATURE_NAMES = ("bull_cues", "bear_cues", "neutral_cues", "question")


def describe(cues: list[Cue], limit: int = 3) -> str:
    """A short reason fragment, e.g. "cues: -'puts printing', +'not going down'"."""
    if not cues:
        return "no finance cues"
    signs = {BULL: "+", BEAR: "-", NEUTRAL: "~"}
    shown = [f"{signs[c.polarity]}'{('not ' if c.negated else '') + c.text}'" for c in cues[:limit]]
    more = f" +{len(cues) - limit} more" if len(cues) > limit else ""
    return "cues: " + ", ".join(shown) + more
