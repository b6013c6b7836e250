"""Collectors that bring outside data into the landing zone: Finnhub (websocket + REST) and Reddit (praw)."""
