"""Local stand-ins and services, for a laptop and the tests: servers that speak Finnhub's, Reddit's and an LLM
endpoint's protocols over loopback (replay/, llm_server.py), the replay sources that feed Kafka from them
(sources.py), and the project's own Kafka broker, HDFS and Airflow launchers.

Production code never imports this package (tests/test_architecture.py); only the command line (jobs/cli/),
the Makefile's targets and the tests reach in.
"""
