"""Collectors that bring outside data into Kafka (Finnhub websocket + REST, Reddit via praw), and Spark's
consumer that takes the topics into bronze."""
