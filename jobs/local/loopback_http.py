"""An HTTP server on a loopback address, served from a daemon thread: what every local stand-in shares (the
Finnhub REST and Reddit replay servers, the LLM dev server, the tests' canned servers)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackHttp:
    """`handler` served by a ThreadingHTTPServer at (host, port) (port 0: any free one); handlers reach `app` as
    `self.server.app`. `start()`/`stop()`, or a context manager; `serve_forever()` serves in the calling thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0,
                 app: Any = None, name: str = "loopback-http") -> None:
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True  # an answer still sleeping (a "slow" fault) never holds up shutdown
        self._httpd.app = app
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=name, daemon=True)

    @property
    def root(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread (a CLI); `stop()` or Ctrl-C ends it."""
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
