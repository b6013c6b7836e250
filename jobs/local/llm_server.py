"""A local OpenAI-compatible chat-completions server on 127.0.0.1, for tests,
benchmarks and offline demos of the LLM scorer. It speaks the real wire protocol
and answers deterministically with keyword rules; switches make it misbehave
(429 with Retry-After, 500, invalid JSON, dropped or invalid answers, and the
network faults of `jobs.local.replay.faults`: resets, slow, truncated or non-JSON
bodies) the way real endpoints do. With an API key set it answers any other key 401, echoing the key it
got (as some proxies do), so a client that prints error bodies unredacted shows up.
Run it: ``python -m jobs.local.llm_server --port 8089 [--api-key KEY]``.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field

from jobs.local.replay.faults import FaultyHandler
from jobs.local.loopback_http import LoopbackHttp

BEARISH = re.compile(r"\b(puts?|short\w*|sell\w*|dump\w*|crash\w*|fell|plunge\w*|miss\w*|downgrade\w*|zero|bagholders?)\b", re.I)
BULLISH = re.compile(r"\b(calls?|moon|beat\w*|upgrade\w*|rall\w*|jump\w*|soar\w*|squeeze|bears getting)\b", re.I)
CASHTAG = re.compile(r"\$([A-Za-z]{1,5})\b")
NETWORK_FAULTS = ("reset", "slow", "truncated", "not_json")


@dataclass
class Behaviour:
    """Misbehaviours consumed one per request, in order: "429", "500", "invalid_json",
    "drop_first" (omit the first answer), "bad_first" (first answer has score 7), and the
    network faults "reset", "slow", "truncated", "not_json"; then `always` (if set) for every later one."""

    script: deque = field(default_factory=deque)
    always: str | None = None
    slow_s: float = 2.0
    retry_after: str = "1"
    requests: list[dict] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def rule_answer(post_id: str, text: str) -> dict:
    bear, bull = len(BEARISH.findall(text)), len(BULLISH.findall(text))
    if "bears getting" in text.lower():
        bear = 0
    score = 0.0 if bear == bull else (0.8 if bull > bear else -0.8)
    label = "neutral" if score == 0 else ("bullish" if score > 0 else "bearish")
    return {"id": post_id, "tickers": [t.upper() for t in CASHTAG.findall(text)], "score": score, "label": label,
            "reason": f"keyword rules: {bull} bullish, {bear} bearish words"}


def make_handler(behaviour: Behaviour, api_key: str | None = None):
    class Handler(FaultyHandler):
        def _send(self, status: int, payload: bytes, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
            if not self.played:  # a late ("slow") answer is logged as the fault
                behaviour.statuses.append(status)

        def do_POST(self) -> None:
            if not self.path.rstrip("/").endswith("/chat/completions"):
                return self._send(404, b'{"error": {"message": "not found"}}')
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            given = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if api_key and given != api_key:
                message = {"error": {"message": f"Incorrect API key provided: {given}", "type": "invalid_request_error",
                                     "code": "invalid_api_key"}}
                return self._send(401, json.dumps(message).encode())
            with behaviour.lock:
                behaviour.requests.append({"body": body, "authorization": self.headers.get("Authorization")})
                action = behaviour.script.popleft() if behaviour.script else behaviour.always
            if action in NETWORK_FAULTS:
                behaviour.statuses.append(action)
                if self.play(action, behaviour.slow_s):
                    return
            if action == "429":
                return self._send(429, b'{"error": {"message": "rate limited"}}', {"Retry-After": behaviour.retry_after})
            if action == "500":
                return self._send(500, b'{"error": {"message": "server error"}}')
            posts = json.loads(body["messages"][-1]["content"])["posts"]
            results = [rule_answer(p["id"], p["text"]) for p in posts]
            if action == "drop_first" and results:
                results = results[1:]
            if action == "bad_first" and results:
                results[0]["score"] = 7
            content = "this is not json {" if action == "invalid_json" else json.dumps({"results": results})
            reply = {
                "id": f"chatcmpl-{len(behaviour.requests)}", "object": "chat.completion", "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
            if action in ("truncated", "not_json"):
                return self.send_body(200, json.dumps(reply).encode(), content_type="application/json")
            self._send(200, json.dumps(reply).encode())

    return Handler


class DevServer(LoopbackHttp):
    """Context manager: ``with DevServer() as server: server.base_url``."""

    def __init__(self, port: int = 0, api_key: str | None = None) -> None:
        self.behaviour = Behaviour()
        super().__init__(make_handler(self.behaviour, api_key), port=port, name="llm-dev-server")

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default=None, help="only accept this key (default: any)")
    args = parser.parse_args()
    with DevServer(args.port, args.api_key) as server:
        print(f"OpenAI-compatible dev server at {server.base_url} (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
