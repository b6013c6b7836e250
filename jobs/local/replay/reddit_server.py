"""A local server speaking the part of Reddit's API that praw uses for reading, over the project's corpus.

* ``POST /api/v1/access_token`` (praw's ``reddit_url``): HTTP basic auth with
  the app's client id and secret, ``grant_type=client_credentials`` (or
  ``password``), answered with a bearer token.
* ``GET /r/<sub>/new|hot|top`` (praw's ``oauth_url``, bearer token): Listings
  of ``t3`` things, 100 a page at most, paged with ``after``; ``top`` honours
  ``t`` (hour .. all).
* ``GET /comments/<id>/``: ``[post listing, comment tree]`` with nested
  ``replies`` listings, cut at ``depth`` and ``limit``.
* Every answer carries Reddit's ``x-ratelimit-*`` headers, so praw paces itself
  as it would against reddit.com (the quota per 600 s window is configurable).

Deleted and removed things look as on Reddit (``[deleted]`` / ``[removed]``).
Scripted faults (resets, slow answers, 429, 5xx, truncated or non-JSON bodies;
see `jobs.local.replay.faults`) hit the API reads, never the token endpoint.
Tests may change a post or comment between two collections (`update`) to
exercise re-collection.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jobs.local.replay.corpus.generate import CORPUS_PATH, load_corpus
from jobs.local.replay.faults import FaultScript, FaultyHandler
from jobs.local.loopback_http import LoopbackHttp

PAGE_MAX = 100
TOP_WINDOWS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400, "year": 366 * 86400, "all": None}


@dataclass
class RedditServerConfig:
    client_id: str | None = None  # None: any credentials are accepted
    client_secret: str | None = None
    now: datetime | None = None  # the server's clock: things created later are not visible yet
    quota_per_window: int = 100_000  # x-ratelimit quota per 600 s (reddit.com allows far fewer)
    # faults for the next API reads (GET), in order, then `fault_always` for every later one (jobs.local.replay.faults)
    faults: list[str] = field(default_factory=list)
    fault_always: str | None = None
    slow_s: float = 2.0
    retry_after_s: float = 1.0


class _Handler(FaultyHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as reddit.com

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(body).encode(), {**self.server.app.ratelimit_headers(), **(headers or {})},
                       content_type="application/json; charset=UTF-8")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path.rstrip("/") != "/api/v1/access_token":
            return self._reply(404, {"message": "Not Found", "error": 404})
        status, body = self.server.app.token(self.headers.get("Authorization", ""), form)
        self._reply(status, body)

    def do_GET(self) -> None:  # noqa: N802
        if self.play_fault(self.server.app.faults):
            return
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, body = self.server.app.get(parts.path, params, self.headers.get("Authorization", ""))
        self._reply(status, body)


class RedditReplayServer(LoopbackHttp):
    def __init__(self, config: RedditServerConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                 items: list[dict[str, Any]] | None = None) -> None:
        self.config = config or RedditServerConfig()
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self.requests = 0
        self._window_start = time.monotonic()
        self._used = 0
        self.faults = FaultScript(self.config.faults, self.config.fault_always, self.config.slow_s,
                                  self.config.retry_after_s)
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.children: dict[str, list[str]] = defaultdict(list)  # parent fullname -> comment ids
        for item in items if items is not None else load_corpus(CORPUS_PATH):
            item = {k: v for k, v in item.items() if k != "_gen"}  # generator notes are not part of the API
            if item["kind"] == "t3":
                self.posts[item["id"]] = item
            else:
                self.comments[item["id"]] = item
                self.children[item["parent_id"]].append(item["id"])
        super().__init__(_Handler, host, port, app=self, name="reddit-replay")

    @property
    def url(self) -> str:
        return self.root

    def update(self, thing_id: str, **fields: Any) -> None:
        """Change a post or comment (score, state='deleted'|'removed', ...) as time would on Reddit."""
        with self._lock:
            target = self.posts.get(thing_id) or self.comments.get(thing_id)
            if target is None:
                raise KeyError(thing_id)
            target.update(fields)

    # ---------------------------------------------------------------- auth ---

    def token(self, authorization: str, form: dict[str, str]) -> tuple[int, Any]:
        if not authorization.startswith("Basic "):
            return 401, {"message": "Unauthorized", "error": 401}
        try:
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return 401, {"message": "Unauthorized", "error": 401}
        if self.config.client_id and (client_id != self.config.client_id or secret != (self.config.client_secret or "")):
            return 401, {"message": "Unauthorized", "error": 401}
        if form.get("grant_type") not in ("client_credentials", "password",
                                          "https://oauth.reddit.com/grants/installed_client"):
            return 200, {"error": "unsupported_grant_type"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}

    def ratelimit_headers(self) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= 600:
                self._window_start, self._used = now, 0
            self._used += 1
            self.requests += 1
            remaining = max(self.config.quota_per_window - self._used, 0)
            reset = int(600 - (now - self._window_start))
        return {"x-ratelimit-remaining": f"{remaining:.1f}", "x-ratelimit-used": str(self._used),
                "x-ratelimit-reset": str(reset)}

    # ------------------------------------------------------------- reading ---

    def get(self, path: str, params: dict[str, str], authorization: str) -> tuple[int, Any]:
        token = authorization.removeprefix("bearer ").removeprefix("Bearer ")
        with self._lock:
            known = token in self._tokens
        if not known:
            return 401, {"message": "Unauthorized", "error": 401}
        parts = [p for p in path.split("/") if p]
        if len(parts) == 3 and parts[0] == "r" and parts[2] in ("new", "hot", "top"):
            return 200, self._listing(parts[1], parts[2], params)
        if len(parts) >= 2 and parts[0] == "comments":
            return self._comments(parts[1], params)
        return 404, {"message": "Not Found", "error": 404}

    def _now(self) -> float:
        return (self.config.now or datetime.now(timezone.utc)).timestamp()

    def _visible(self, item: dict[str, Any]) -> bool:
        return item["created_utc"] <= self._now()

    def _listing(self, subreddit: str, sort: str, params: dict[str, str]) -> dict[str, Any]:
        now = self._now()
        with self._lock:
            posts = [p for p in self.posts.values() if p["subreddit"].lower() == subreddit.lower() and self._visible(p)]
        if sort == "new":
            posts.sort(key=lambda p: (-p["created_utc"], p["id"]))
        elif sort == "hot":  # reddit's classic hot formula: log-votes plus recency
            def hot(p: dict[str, Any]) -> float:
                return math.log10(max(abs(p["score"]), 1)) + (p["created_utc"] - 1134028003) / 45000
            posts.sort(key=lambda p: (-hot(p), p["id"]))
        else:
            window = TOP_WINDOWS.get(params.get("t", "day"), 86400)
            if window is not None:
                posts = [p for p in posts if now - p["created_utc"] <= window]
            posts.sort(key=lambda p: (-p["score"], p["id"]))
        start = 0
        after = params.get("after")
        if after:
            ids = [f"t3_{p['id']}" for p in posts]
            start = ids.index(after) + 1 if after in ids else len(posts)
        try:
            limit = max(1, min(int(params.get("limit", 25)), PAGE_MAX))
        except ValueError:
            limit = 25
        page = posts[start:start + limit]
        next_after = f"t3_{page[-1]['id']}" if page and start + limit < len(posts) else None
        return {"kind": "Listing", "data": {"after": next_after, "before": None, "dist": len(page), "modhash": None,
                                            "children": [{"kind": "t3", "data": self._post_json(p)} for p in page]}}

    def _comments(self, post_id: str, params: dict[str, str]) -> tuple[int, Any]:
        with self._lock:
            post = self.posts.get(post_id)
        if post is None or not self._visible(post):
            return 404, {"message": "Not Found", "error": 404}
        try:
            depth = int(params.get("depth", 10))
            limit = int(params.get("limit", 500))
        except ValueError:
            depth, limit = 10, 500
        budget = [limit]
        tree = self._tree(f"t3_{post_id}", post, 0, depth, budget)
        return 200, [
            {"kind": "Listing", "data": {"after": None, "before": None, "dist": 1, "modhash": None,
                                         "children": [{"kind": "t3", "data": self._post_json(post)}]}},
            {"kind": "Listing", "data": {"after": None, "before": None, "dist": None, "modhash": None, "children": tree}},
        ]

    def _tree(self, parent: str, post: dict[str, Any], depth: int, max_depth: int, budget: list[int]) -> list[dict[str, Any]]:
        if depth >= max_depth:
            return []
        out = []
        with self._lock:
            kids = sorted((self.comments[c] for c in self.children.get(parent, [])), key=lambda c: (-c["score"], c["id"]))
        for comment in kids:
            if budget[0] <= 0 or not self._visible(comment):
                continue
            budget[0] -= 1
            replies = self._tree(f"t1_{comment['id']}", post, depth + 1, max_depth, budget)
            data = self._comment_json(comment, post, depth)
            data["replies"] = ({"kind": "Listing", "data": {"after": None, "before": None, "dist": None,
                                                            "modhash": None, "children": replies}} if replies else "")
            out.append({"kind": "t1", "data": data})
        return out

    # ------------------------------------------------------------ shaping ---

    def _num_comments(self, post_id: str) -> int:
        count, stack = 0, [f"t3_{post_id}"]
        while stack:
            for child in self.children.get(stack.pop(), []):
                if self._visible(self.comments[child]):
                    count += 1
                    stack.append(f"t1_{child}")
        return count

    def _post_json(self, post: dict[str, Any]) -> dict[str, Any]:
        state = post.get("state", "live")
        permalink = f"/r/{post['subreddit']}/comments/{post['id']}/"
        with self._lock:
            num_comments = post["num_comments"] if "num_comments" in post else self._num_comments(post["id"])
        return {
            "id": post["id"], "name": f"t3_{post['id']}", "subreddit": post["subreddit"],
            "subreddit_name_prefixed": f"r/{post['subreddit']}",
            "author": "[deleted]" if state == "deleted" else post["author"],
            "title": post["title"],
            "selftext": {"deleted": "[deleted]", "removed": "[removed]"}.get(state, post["selftext"]),
            "removed_by_category": {"deleted": "deleted", "removed": "moderator"}.get(state),
            "created_utc": float(post["created_utc"]), "score": post["score"], "ups": post["score"], "downs": 0,
            "upvote_ratio": post["upvote_ratio"], "num_comments": num_comments, "permalink": permalink,
            "url": f"https://www.reddit.com{permalink}", "is_self": True, "over_18": False, "stickied": False,
            "link_flair_text": post.get("link_flair_text"),
        }

    def _comment_json(self, comment: dict[str, Any], post: dict[str, Any], depth: int) -> dict[str, Any]:
        state = comment.get("state", "live")
        return {
            "id": comment["id"], "name": f"t1_{comment['id']}", "parent_id": comment["parent_id"],
            "link_id": f"t3_{post['id']}", "subreddit": post["subreddit"],
            "author": "[deleted]" if state in ("deleted", "removed") else comment["author"],
            "body": {"deleted": "[deleted]", "removed": "[removed]"}.get(state, comment["body"]),
            "created_utc": float(comment["created_utc"]), "score": comment["score"], "ups": comment["score"],
            "depth": depth, "permalink": f"/r/{post['subreddit']}/comments/{post['id']}/_/{comment['id']}/",
            "stickied": False, "is_submitter": comment["author"] == post["author"],
        }
