"""Finance-aware sentiment: the tickers a post names, and per post a score in [-1, 1],
a label (bullish / neutral / bearish) and a short reason, from one of three scorers."""
