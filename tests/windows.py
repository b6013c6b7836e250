"""The window most tests run steps for: everything in the lake, as of the moment the test runs."""

from datetime import datetime, timezone

from jobs.window import Window

LATEST = Window.latest(datetime.now(timezone.utc), source="test")
