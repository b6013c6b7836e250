"""Gold tables where Reddit sentiment meets prices: daily aggregates, post price windows, lead-lag.

Inputs (the transforms take DataFrames with these columns, so they are testable without the lake):

* mentions — one row per (post, ticker it mentions): post_id, ticker, subreddit, author,
  created_at (UTC timestamp), sentiment (double in [-1, 1]), label (bullish | bearish | neutral).
  Built from silver.reddit_posts joined to the post sentiment table (see pipeline.py).
* comments — silver.reddit_comments: comment_id, post_id, author, created_at.
* post_fetches — bronze.reddit_posts: post_id, fetched_at, score (every fetch, for as-of scores).
* daily bars — silver.daily_bars: ticker, trade_date, adj_close.
* minute bars — silver.bars_1m: symbol, minute_start, open (optional; 1-hour horizons need it).
"""
