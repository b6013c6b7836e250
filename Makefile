# pulselake — every entry point a user or CI needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
UV_FLAGS := --python $(BIN)/python --compile-bytecode
STAMP := $(VENV)/.installed
JARS := .jars
JARS_STAMP := $(JARS)/jars.sha256

.PHONY: help setup run test test-fast bench lock lock-jars clean-lake airflow browser notebooks dashboard audit kafka hdfs

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(STAMP) $(JARS_STAMP) ## create .venv from requirements.lock and .jars/ from jvm/ (a no-op when nothing changed)

$(STAMP): requirements.lock pyproject.toml
	@echo "==> setting up $(VENV) from requirements.lock (first time takes a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(BIN)/uv pip sync -q $(UV_FLAGS) requirements.lock
	@$(BIN)/uv pip install -q $(UV_FLAGS) --no-deps -e .
	@touch $(STAMP)
	@echo "==> $(VENV) is ready"

# Every JVM artifact (delta-spark, Spark's Kafka source, hadoop-aws, the Kafka broker, HDFS) from Maven
# Central, pinned in jvm/pom.xml and checked against jvm/jars.sha256; sessions and services use these files.
$(JARS_STAMP): jvm/pom.xml jvm/spark/pom.xml jvm/kafka/pom.xml jvm/hdfs/pom.xml jvm/jars.sha256 jvm/fetch.sh | $(STAMP)
	@PYTHON=$(BIN)/python jvm/fetch.sh
	@$(BIN)/python -m jobs.resources.spark > $(JARS)/spark-defaults.conf

lock-jars: setup ## re-resolve jvm/pom.xml and rewrite jvm/jars.sha256
	@PYTHON=$(BIN)/python jvm/fetch.sh --lock

run: setup ## run the nightly pipeline over the embedded data into ./lake
	$(BIN)/pulselake nightly

test: setup browser ## run the whole test suite
	$(BIN)/python -m pytest

test-fast: setup ## the fast lane: every test but those marked slow (services, whole pipelines); a few minutes
	$(BIN)/python -m pytest -m "not slow"

# The dashboard's browser test drives Debian's chromium (never a downloaded browser).
IS_ROOT := $(filter 0,$(shell id -u))
SUDO := $(if $(IS_ROOT),,sudo)
browser: ## install Debian's chromium + chromium-driver for the dashboard test (skipped when present)
	@if [ -x /usr/bin/chromium ]; then echo "==> chromium present: $$(/usr/bin/chromium --version 2>/dev/null)"; else \
	  echo "==> installing Debian's chromium and chromium-driver" && \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; fi

NOTEBOOK_PORT ?= 8888
notebooks: setup ## start Jupyter Lab on 127.0.0.1 over notebooks/ (lake: env PULSELAKE_LAKE_ROOT, default ./lake)
	@token=$${JUPYTER_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(16))')}; \
	echo "==> Jupyter Lab: http://127.0.0.1:$(NOTEBOOK_PORT)/lab?token=$$token"; \
	exec $(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(NOTEBOOK_PORT) \
	  --ServerApp.port_retries=0 --IdentityProvider.token=$$token --ServerApp.root_dir=notebooks $(if $(IS_ROOT),--allow-root)

DASHBOARD_PORT ?= 8501
dashboard: setup ## start the Streamlit dashboard on 127.0.0.1 (lake: env PULSELAKE_LAKE_ROOT, default ./lake)
	@echo "==> dashboard: http://127.0.0.1:$(DASHBOARD_PORT)"
	@exec $(BIN)/streamlit run jobs/dashboard/app.py --server.address=127.0.0.1 --server.port=$(DASHBOARD_PORT) \
	  --server.headless=true --browser.gatherUsageStats=false

airflow: setup ## start Airflow 3 on http://127.0.0.1:8080 (SQLite in .airflow/, login admin, password file printed)
	$(BIN)/python -m jobs.local.airflow_launcher

kafka: setup ## start a local Kafka broker (KRaft, SASL PLAIN) on 127.0.0.1:$KAFKA_PORT (default 9092), data in $KAFKA_DATA_DIR (default .kafka/)
	$(BIN)/python -m jobs.local.kafka_broker

hdfs: setup ## start a local HDFS (NameNode + DataNode) on 127.0.0.1:$HDFS_PORT (default 9000), data in .hdfs/
	$(BIN)/python -m jobs.local.hdfs_cluster

bench: setup ## run the benchmarks (not part of make test); results in bench/results/
	$(BIN)/python -m bench

# pip-audit asks pypi.org about every pin (--no-deps: the lock is complete). --strict fails when a pin could
# not be checked: without it an offline run reports "No known vulnerabilities" having checked nothing.
audit: setup ## check requirements.lock for known vulnerabilities (needs pypi.org; a release step)
	$(BIN)/pip-audit -r requirements.lock --no-deps --disable-pip --strict --progress-spinner off

lock: ## re-resolve requirements.in into requirements.lock
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q uv==$(UV_VERSION); }
	$(BIN)/uv pip compile requirements.in --override requirements-overrides.txt --python-version 3.11 -o requirements.lock

clean-lake: ## delete the local lake folder
	rm -rf lake
