"""Answers cached by content hash in SQLite, so a re-run pays for nothing twice."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path


class AnswerCache:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL)")
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for key, answer in self._db.execute(f"SELECT key, answer FROM answers WHERE key IN ({marks})", chunk):
                    found[key] = json.loads(answer)
        return found

    def put_many(self, items: dict[str, dict]) -> None:
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO answers (key, answer) VALUES (?, ?)",
                                 [(k, json.dumps(v, sort_keys=True)) for k, v in items.items()])
            self._db.commit()

    def close(self) -> None:
        self._db.close()
