"""A loopback fake of the Jira REST API v2 paths the ``jira`` library calls (serverInfo,
project, priority, search, issue create/get/edit, comment, transitions), with issues in
memory, and Jira's webhook signature (``X-Hub-Signature: sha256=HMAC(secret, body)``)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from typing import Any

from tests.fake_http import Answer, FakeServer, Request

API = "/rest/api/2"
STATUSES = ("To Do", "In Progress", "Waiting", "Done")


def jira_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FakeJira(FakeServer):
    def __init__(self, token: str = "jira-pat", project: str = "SUP",
                 email: str | None = None) -> None:
        super().__init__()
        self.token, self.email, self.project = token, email, project
        self.priorities = ["Highest", "High", "Medium", "Low", "Lowest"]
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[str]] = {}
        self._ids = itertools.count(10001)
        r = self.route
        r("GET", f"{API}/serverInfo", lambda q: (200, {
            "baseUrl": self.base, "version": "9.12.0", "versionNumbers": [9, 12, 0],
            "deploymentType": "Server", "serverTitle": "fake"}))
        r("GET", f"{API}/project/([^/]+)", self._project)
        r("GET", f"{API}/priority", lambda q: (200, [
            {"id": str(i + 1), "name": n} for i, n in enumerate(self.priorities)]))
        r("GET", f"{API}/field", lambda q: (200, [
            {"id": f, "name": f.capitalize(), "custom": False, "clauseNames": [f]}
            for f in ("summary", "description", "labels", "priority", "status", "duedate")]))
        r("GET", f"{API}/search", self._search)
        r("POST", f"{API}/search", self._search)
        r("GET", f"{API}/search/jql", self._search)
        r("POST", f"{API}/issue", self._create)
        r("GET", f"{API}/issue/([^/]+)", self._get)
        r("PUT", f"{API}/issue/([^/]+)", self._edit)
        r("POST", f"{API}/issue/([^/]+)/comment", self._comment)
        r("GET", f"{API}/issue/([^/]+)/transitions", self._transitions)
        r("POST", f"{API}/issue/([^/]+)/transitions", self._transition)

    def authorized(self, request: Request) -> bool:
        import base64

        auth = request.headers.get("authorization", "")
        if self.email:
            want = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
            return auth == f"Basic {want}"
        return auth == f"Bearer {self.token}"

    # -- what tests look at and change ------------------------------------------------------

    def by_label(self, label: str) -> list[dict[str, Any]]:
        with self.lock:
            return [i for i in self.issues.values() if label in i["fields"]["labels"]]

    def webhook(self, event: str, key: str, *, user: str = "Alice",
                changes: list[dict[str, str]] = (), comment: str | None = None) -> bytes:
        """The body Jira posts for ``jira:issue_updated`` / ``comment_created``."""
        issue = self.issues[key]
        body: dict[str, Any] = {"timestamp": 1764000000000 + next(self._ids),
                                "webhookEvent": event, "user": {"displayName": user},
                                "issue": issue}
        if changes:
            body["changelog"] = {"id": str(next(self._ids)), "items": list(changes)}
        if comment is not None:
            body["comment"] = {"id": str(next(self._ids)), "body": comment,
                               "author": {"displayName": user}}
        return json.dumps(body).encode()

    # -- the REST paths ---------------------------------------------------------------------

    def _project(self, q: Request) -> Answer:
        if q.match.group(1) != self.project:
            return 404, {"errorMessages": [f"No project could be found with key "
                                           f"'{q.match.group(1)}'."]}
        return 200, {"id": "10000", "key": self.project, "name": "Support",
                     "self": f"{self.base}{API}/project/10000"}

    def _search(self, q: Request) -> Answer:
        jql = (q.body or {}).get("jql") if q.method == "POST" else q.query.get("jql", "")
        label = re.search(r'labels = "([^"]+)"', jql or "")
        found = [i for i in self.issues.values()
                 if label is None or label.group(1) in i["fields"]["labels"]]
        return 200, {"startAt": 0, "maxResults": 50, "total": len(found), "issues": found,
                     "isLast": True}

    def _create(self, q: Request) -> Answer:
        fields = dict(q.body["fields"])
        if fields.get("project", {}).get("key") != self.project:
            return 400, {"errors": {"project": "project is required"}}
        if fields.get("priority", {}).get("name") not in self.priorities:
            return 400, {"errors": {"priority": "Priority name is not valid"}}
        issue_id = str(next(self._ids))
        key = f"{self.project}-{len(self.issues) + 1}"
        fields.setdefault("labels", [])
        fields["status"] = {"name": STATUSES[0]}
        self.issues[key] = {"id": issue_id, "key": key,
                            "self": f"{self.base}{API}/issue/{issue_id}", "fields": fields}
        self.comments[key] = []
        return 201, {"id": issue_id, "key": key, "self": f"{self.base}{API}/issue/{issue_id}"}

    def _issue(self, ref: str) -> dict[str, Any] | None:
        return self.issues.get(ref) or next((i for i in self.issues.values()
                                             if i["id"] == ref), None)

    def _get(self, q: Request) -> Answer:
        issue = self._issue(q.match.group(1))
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist"]}
        return 200, issue

    def _edit(self, q: Request) -> Answer:
        issue = self._issue(q.match.group(1))
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist"]}
        fields = (q.body or {}).get("fields", {})
        if "priority" in fields and fields["priority"]["name"] not in self.priorities:
            return 400, {"errors": {"priority": "Priority name is not valid"}}
        issue["fields"].update(fields)
        return 204, None

    def _comment(self, q: Request) -> Answer:
        issue = self._issue(q.match.group(1))
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist"]}
        self.comments[issue["key"]].append(q.body["body"])
        return 201, {"id": str(next(self._ids)), "body": q.body["body"],
                     "self": f"{self.base}{API}/issue/{issue['id']}/comment/1"}

    def _transitions(self, q: Request) -> Answer:
        return 200, {"transitions": [{"id": str(i + 11), "name": f"to {s}", "to": {"name": s}}
                                     for i, s in enumerate(STATUSES)]}

    def _transition(self, q: Request) -> Answer:
        issue = self._issue(q.match.group(1))
        if issue is None:
            return 404, {"errorMessages": ["Issue does not exist"]}
        target = STATUSES[int(q.body["transition"]["id"]) - 11]
        issue["fields"]["status"] = {"name": target}
        return 204, None
