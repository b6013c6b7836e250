"""Template text for the synthetic Reddit corpus (written for pulselake, CC0).

Slots in braces are filled by `generate.py` from PAST prices only:
{T} ticker, {CT} cashtag, {N} company name, {close} last close, {chg} that
day's % change, {wk} 5-day % change, {dir} up/down, {strike} an option strike,
{exp} an expiry month, {qty} a share count, {cost} a cost basis, {pct} a
round percentage, {n2}/{T2} a second company. `|`-free plain strings keep the
file easy to extend: add a line, rerun the generator.
"""

# ---------------------------------------------------------------- posts ---

DD_TITLES = [
    "{N} DD: why I think the market is mispricing {T}",
    "Deep dive on {CT} after the {dir} move - long post",
    "{T} is the most boring stock I own and that's the point (DD)",
    "My thesis on {N}, with numbers",
    "DD: {N} at ${close} - value trap or value?",
    "Bear case for {CT}, since nobody here wants to hear it",
    "I read the whole 10-Q for {N} so you don't have to",
    "{T} vs {T2}: which one survives the next leg down?",
]
DD_BODIES = [
    "Closed at ${close} yesterday, {chg}% on the day and {wk}% over the week. I've been building a position for a month.\n\n"
    "1. Balance sheet: more cash than debt, which after 2008 is not nothing.\n"
    "2. Margins held up through the recession while the competition bled.\n"
    "3. P/E is below its five-year average even after the rally off the March lows.\n\n"
    "Risks: consumer spending stays weak, the FED raises rates earlier than people think, management does something dumb with the cash.\n\n"
    "Position: {qty} shares at ${cost}. Not advice, do your own DD.",
    "Everyone is talking about {T2} but {N} quietly went {dir} {wk}% this week to ${close}. "
    "Revenue guidance was raised last quarter and the CEO bought shares on the open market, which insiders almost never do for fun.\n\n"
    "My target is 20% above here within a year. If it breaks below ${cost} I'm out, no questions asked.",
    "TL;DR: I like {CT} long term, short term it could easily drop another 10%.\n\n"
    "The chart looks ugly ({chg}% on the last session), but the business hasn't changed. Free cash flow covers the dividend twice, "
    "the buyback is real, and the stock trades at a discount to the sector. The EPS estimate for next year looks too low to me.\n\n"
    "What would change my mind: another quarter of shrinking sales, or the credit markets locking up again.",
    "Long post, sorry. I spent the weekend on {N}.\n\n"
    "Bull case: pricing power, a huge installed base, and a management team that under-promises.\n"
    "Bear case: valuation at ${close} already assumes everything goes right, and {wk}% in a week smells like momentum chasers.\n\n"
    "I'm starting small, {qty} shares, and adding on weakness. Curious what holes you can poke in this.",
    "Bear thesis for {T}. The stock is {dir} {wk}% this week and sits at ${close}, but:\n\n"
    "- inventory is growing faster than sales\n- the last two quarters beat only because of cost cuts\n"
    "- insiders have been selling since the spring\n\n"
    "I bought puts, {strike}p for {exp}. Happy to be told why I'm wrong.",
]

YOLO_TITLES = [
    "YOLO: {qty} shares of {CT}",
    "Put my entire bonus into {T} {strike}c {exp}. See you on the moon or at the food court",
    "{T} calls, all in. Wish me luck",
    "Loss porn: {T} {strike}c got wrecked",
    "Gain porn: {pct}% on {CT} calls in two days",
    "Doubled down on {N} after the {chg}% day",
    "Who else is holding {T} {strike}p into earnings?",
]
YOLO_BODIES = [
    "Bought {qty} contracts of the {strike}c {exp} when it was trading at ${close}. Either I retire early or I learn a lesson. Probably the lesson.",
    "{CT} closed at ${close} ({chg}%). I'm down {pct}% on my calls and I'm adding more because apparently I hate money.",
    "Screenshot or it didn't happen, I know. Cost basis ${cost}, {qty} shares, margin. My wife does not know. YOLO.",
    "Sold at the top for once in my life. {pct}% in two sessions on {T}. Buying everyone a beer, virtually.",
    "Puts on {T}, {strike}p {exp}. It went {dir} {wk}% this week and I think the party is over. Or I'm early. Always early.",
    "",
]

OPTIONS_TITLES = [
    "Selling covered calls on {T} - which strike?",
    "IV on {CT} is through the roof before earnings, how are you playing it?",
    "Iron condor on {T} for {exp}: sanity check",
    "First time selling cash-secured puts on {N}",
    "Rolling my {T} {strike}c, is this dumb?",
    "Theta gang check-in: who's collecting premium on {T}?",
]
OPTIONS_BODIES = [
    "I own {qty} shares at ${cost}. Stock closed at ${close}. Thinking about the {strike}c for {exp} to collect some premium. "
    "Is it worth capping the upside?",
    "Implied vol looks high relative to how {T} actually moved ({wk}% this week). I want to sell a strangle but the tails scare me.",
    "Setup: short {strike}c / long call one strike higher, short put below, long put lower, {exp}. Max loss is defined, "
    "but I'm not sure about the wings. Thoughts?",
    "My {strike}c are deep ITM after the move to ${close}. Roll out and up, or take the money and walk?",
    "The {strike}p premium on {N} pays me {pct}% annualised to wait for a price I'd be happy to own it at. What am I missing?",
]

NEWS_TITLES = [
    "{N} closes {dir} {chg}% at ${close}",
    "{T} {dir} {wk}% this week - anyone know why?",
    "{N} shares move after analyst note",
    "Market wrap: {T} and {T2} lead the day",
    "{N} ({CT}) hits ${close} - biggest move in weeks",
    "Fed leaves rates unchanged, banks {dir}",
]
NEWS_BODIES = [
    "{N} finished the session at ${close}, {chg}% on the day. Volume looked heavier than usual. No news I can find on the wires yet.",
    "Over the last five sessions {T} is {wk}%. CNBC mentioned an upgrade but I can't find the actual note.",
    "Link in comments. Summary: {N} is {dir} {chg}% after the report, while {T2} barely moved.",
    "",
]

QUESTION_TITLES = [
    "Is it too late to buy {T} at ${close}?",
    "Newbie question: how do stop losses actually work?",
    "Roth IRA vs 401k match - what would you do?",
    "Why does {N} keep dropping when the news is good?",
    "Should I sell {T} after the {chg}% day or hold?",
    "ELI5: what does the EPS number in an earnings report mean?",
    "Best broker for someone starting with $2000?",
    "How do you decide when to take profits?",
    "Index ETF or individual stocks for a 25 year old?",
    "What does it mean when a stock is 'priced in'?",
]
QUESTION_BODIES = [
    "I've been watching {CT} for months. It's at ${close} now, {wk}% in a week. Every time I wait it goes higher. Do I just buy?",
    "Total beginner. I have some savings and I keep reading about {T} and {T2}. Where do people even start?",
    "My dad says individual stocks are gambling and I should just buy an index fund. Is he right?",
    "Bought {T} at ${cost}, it's now ${close}. I don't know whether to sell, hold or buy more. How do you think about this?",
    "Serious question, not trolling. Why do people here buy options instead of just buying shares?",
    "",
]

SARCASM_TITLES = [
    "Great, {T} dropped right after I bought. Totally didn't see that coming",
    "Thanks {N}, I didn't need that money anyway",
    "Another day, another genius buying {T} at the top (me, I'm the genius)",
    "Good thing I sold {T} before it went {dir} {wk}%. Oh wait",
    "Breaking: stock market goes up and down, more at 11",
]
SARCASM_BODIES = [
    "Bought at ${cost}. Closed at ${close}. Truly the Warren Buffett of my generation. /s",
    "{chg}% on the day. Love this for me. Really building character here.",
    "I was told stocks only go up. I want to speak to the manager of {N}.",
    "Good news everyone, I found the bottom. It's wherever I buy. /s",
    "",
]

MEME_TITLES = [
    "Sir, this is a casino",
    "Buy high, sell low: a guide by me",
    "My portfolio after {T} did its thing",
    "When the FED speaks and your calls expire worthless",
    "Me explaining to my wife why we own {qty} shares of {T}",
    "Literally me every Monday at 9:30",
    "{T} holders right now",
    "Technical analysis: the line goes {dir}",
    "Wendy's is hiring, I checked",
]
MEME_BODIES = ["", "", "[image]", "this is fine", "LOL", "no further questions", "it do be like that"]

OFFTOPIC_TITLES = [
    "What are you all doing this weekend?",
    "Anyone else trading from work and pretending to do spreadsheets?",
    "Happy holidays, degenerates",
    "Book recommendations that aren't about investing?",
    "Weekend discussion thread",
    "My cat walked on my keyboard and bought something",
    "Power went out during market open. Worst morning ever",
    "Anyone watching the game tonight?",
]
OFFTOPIC_BODIES = [
    "Markets are closed, let's talk about anything else. I'm starting: trying to learn to cook something that isn't ramen.",
    "Not stock related. Just wanted to say this sub has been the only thing keeping me sane this year.",
    "Went hiking, didn't check quotes for two days. Highly recommend.",
    "",
]

STYLES = {
    "dd": (DD_TITLES, DD_BODIES),
    "yolo": (YOLO_TITLES, YOLO_BODIES),
    "options": (OPTIONS_TITLES, OPTIONS_BODIES),
    "news": (NEWS_TITLES, NEWS_BODIES),
    "question": (QUESTION_TITLES, QUESTION_BODIES),
    "sarcasm": (SARCASM_TITLES, SARCASM_BODIES),
    "meme": (MEME_TITLES, MEME_BODIES),
    "offtopic": (OFFTOPIC_TITLES, OFFTOPIC_BODIES),
}

# How often each style appears, per subreddit.
STYLE_WEIGHTS = {
    "wallstreetbets": {"dd": 8, "yolo": 22, "options": 10, "news": 8, "question": 8, "sarcasm": 14, "meme": 20, "offtopic": 10},
    "stocks": {"dd": 18, "yolo": 4, "options": 5, "news": 22, "question": 28, "sarcasm": 8, "meme": 5, "offtopic": 10},
    "investing": {"dd": 22, "yolo": 1, "options": 3, "news": 18, "question": 38, "sarcasm": 5, "meme": 2, "offtopic": 11},
    "options": {"dd": 8, "yolo": 12, "options": 50, "news": 5, "question": 15, "sarcasm": 4, "meme": 3, "offtopic": 3},
}
SUBREDDIT_SHARE = {"wallstreetbets": 0.4, "stocks": 0.25, "investing": 0.2, "options": 0.15}

FLAIRS = {"dd": "DD", "yolo": "YOLO", "options": "Discussion", "news": "News", "question": "Question",
          "sarcasm": "Shitpost", "meme": "Meme", "offtopic": "Daily Discussion"}

# -------------------------------------------------------------- comments ---

COMMENTS_BULLISH = [
    "{T} to the moon",
    "Loading up more at ${close}, this is a gift",
    "Been holding {T} since the spring, not selling a single share",
    "Fundamentals are fine, the market is overreacting. Bought more.",
    "{CT} is the best risk/reward on the board right now IMO",
    "Calls it is then",
    "This is the dip people will wish they bought",
    "Strong buy. {N} prints money.",
]
COMMENTS_BEARISH = [
    "{T} is overvalued at ${close}, I'll buy it 20% lower",
    "Puts printing, thanks for the liquidity",
    "This is a dead cat bounce, change my mind",
    "{chg}% on no news? That's not a good sign",
    "Sold everything, cash is a position too",
    "The chart looks terrible, lower highs for weeks",
    "Bagholders in denial, classic",
    "I'd stay away from {N} until earnings",
]
COMMENTS_NEUTRAL = [
    "What's your exit plan?",
    "Position or ban",
    "Source?",
    "Interesting, thanks for writing this up",
    "RemindMe! 30 days",
    "I don't have a position but I'm watching {T}",
    "What's the P/E on that?",
    "Can you explain the {strike} strike choice?",
    "Index funds and chill",
    "This",
    "Not sure I follow, why not {T2} instead?",
    "Good luck, genuinely",
    "Depends on your time horizon honestly",
    "The EPS beat was mostly one-off items, read the footnotes",
]
COMMENTS_JOKES = [
    "Sir, this is a Wendy's",
    "My wife's boyfriend bought {T} too",
    "Behind Wendy's dumpster, 4:30, bring your losses",
    "LOL",
    "I'm financially ruined and I'm laughing",
    "This guy fucks (the market fucks him back)",
    "Stonks",
    "Username checks out",
    "ALL IN or nothing",
    "Just one more trade bro",
]
COMMENTS_ANSWERS = [
    "A stop loss turns into a market order once the price hits your level, so in a gap down you can get filled well below it.",
    "Take the 401k match first, it's free money. Then Roth IRA. Then back to the 401k.",
    "Nobody knows. Buy in three chunks over a few weeks if you're nervous.",
    "If you can't explain why you own it in one sentence, you probably shouldn't.",
    "It's priced in means the expected news is already reflected in the price. Surprises move it, not news.",
    "Low-cost index ETF for the core, play money for individual names. That's what worked for me.",
    "The {strike}c needs {T} well above ${close} by {exp}, that's a big move in that time.",
]
COMMENT_MOODS = {"bullish": COMMENTS_BULLISH, "bearish": COMMENTS_BEARISH, "neutral": COMMENTS_NEUTRAL,
                 "joke": COMMENTS_JOKES, "answer": COMMENTS_ANSWERS}

# -------------------------------------------------------------- authors ---

AUTHOR_FIRST = ["theta", "value", "deep", "bag", "diamond", "paper", "degen", "bull", "bear", "quiet", "lazy", "index",
                "dividend", "gamma", "margin", "tendie", "chart", "macro", "boring", "night", "early", "late", "crayon",
                "cash", "risk", "contrarian", "patient", "swing", "long", "short"]
AUTHOR_SECOND = ["gang", "hunter", "holder", "hands", "trader", "investor", "bro", "guy", "queen", "wizard", "monk",
                 "fan", "kid", "goblin", "owl", "wolf", "panda", "farmer", "chef", "pilot", "dad", "nerd", "eater"]

# ---------------------------------------------------------- ticker names ---
# Colloquial names used in text (the bundled S&P list has the formal ones).
COMPANY_NAMES = {
    "AAPL": ["Apple"], "GOOG": ["Google"], "AMZN": ["Amazon"], "MSFT": ["Microsoft"], "BAC": ["Bank of America", "BofA"],
    "C": ["Citi", "Citigroup"], "F": ["Ford"], "GS": ["Goldman", "Goldman Sachs"], "JPM": ["JPMorgan", "JP Morgan"],
    "XOM": ["Exxon"], "GE": ["General Electric"], "INTC": ["Intel"], "CSCO": ["Cisco"], "NFLX": ["Netflix"],
    "PCLN": ["Priceline"], "WFC": ["Wells Fargo", "Wells"], "AIG": ["AIG"], "T": ["AT&T"], "VZ": ["Verizon"],
    "KO": ["Coca-Cola", "Coke"], "PFE": ["Pfizer"], "JNJ": ["Johnson & Johnson", "J&J"], "WMT": ["Walmart"],
    "HPQ": ["HP", "Hewlett-Packard"], "IBM": ["IBM"], "ORCL": ["Oracle"], "QCOM": ["Qualcomm"], "BA": ["Boeing"],
    "CAT": ["Caterpillar"], "MS": ["Morgan Stanley"], "DIS": ["Disney"], "MCD": ["McDonald's"], "SBUX": ["Starbucks"],
    "NVDA": ["Nvidia"], "AMD": ["AMD"], "FCX": ["Freeport"], "X": ["US Steel"], "AA": ["Alcoa"], "MO": ["Altria"],
    "EBAY": ["eBay"], "YHOO": ["Yahoo"], "DELL": ["Dell"], "MMM": ["3M"], "HD": ["Home Depot"], "TGT": ["Target"],
    "GM": ["GM"], "MOT": ["Motorola"], "S": ["Sprint"], "CVX": ["Chevron"], "COP": ["ConocoPhillips"],
    "BBY": ["Best Buy"], "AXP": ["Amex", "American Express"], "PG": ["Procter & Gamble", "P&G"],
}
# How often each ticker is talked about (retail favourites dominate).
TICKER_WEIGHTS = {
    "AAPL": 14, "GOOG": 8, "BAC": 10, "C": 9, "F": 9, "AMZN": 6, "MSFT": 6, "GS": 6, "AIG": 6, "NFLX": 4, "JPM": 4,
    "XOM": 3, "GE": 4, "INTC": 3, "CSCO": 3, "PCLN": 2, "WFC": 3, "T": 2, "VZ": 2, "KO": 2, "PFE": 2, "JNJ": 2,
    "WMT": 2, "HPQ": 2, "IBM": 3, "ORCL": 2, "QCOM": 2, "BA": 2, "CAT": 2, "MS": 3, "DIS": 2, "MCD": 2, "SBUX": 2,
    "NVDA": 3, "AMD": 3, "FCX": 2, "X": 2, "AA": 2, "MO": 1, "EBAY": 1, "YHOO": 2, "DELL": 1, "MMM": 1, "HD": 1,
    "TGT": 1, "S": 2, "CVX": 1, "COP": 1, "BBY": 1, "AXP": 1, "PG": 1, "GM": 1, "MOT": 1,
}

# ALL-CAPS words that are not tickers in this text (some collide with real tickers: ALL, IT, ON, CEO...).
CAPS_WORDS = ["YOLO", "DD", "CEO", "FOMO", "IMO", "IMHO", "USA", "GDP", "FED", "EPS", "ATH", "LOL", "ETF", "IPO",
              "SEC", "TARP", "QE", "CNBC", "WSJ", "EOD", "OTM", "ITM", "IV", "RSI", "VIX", "WTF", "OMG", "ALL", "IT",
              "FDIC", "TLDR", "PSA", "EDIT", "UPDATE"]
CAPS_SNIPPETS = [
    "EDIT: {w} matters more than people think.",
    "PSA: check the {w} before you buy anything.",
    "{w} is all anyone on CNBC talks about.",
    "UPDATE: still holding, {w} be damned.",
    "IMO the {w} angle is overblown.",
    "Not gonna lie, the FOMO is real.",
    "ALL IN. No regrets. (Some regrets.)",
    "IT guy here, not a finance guy, so take this with salt.",
    "The FED and GDP numbers on Friday will decide this, not the chart.",
]
EXPIRIES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
