# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A signed push webhook, as a git server (Gitea/Forgejo or GitHub) sends it.

Used by the operator tool ``webhook-push`` (repeat a push by hand, the demo's
round trip) and by the end-to-end tests. The body's ``after`` is a
placeholder on purpose: the receiving host must pull, never trust the payload.

Pure Python (standard library only) so it imports with or without Ansible.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

FORGES = ("gitea", "github")


@dataclass(frozen=True)
class PushRequest:
    """What to POST: the body and the headers, signed with the shared secret."""

    body: bytes
    headers: dict[str, str]
    delivery: str


def push_body(ref: str = "refs/heads/main", repository: str = "fleet/golden-state") -> bytes:
    return json.dumps({"ref": ref, "after": "f" * 40,
                       "repository": {"full_name": repository}}).encode()


def signed_push(secret: bytes, ref: str = "refs/heads/main", forge: str = "gitea",
                delivery: str | None = None) -> PushRequest:
    """A push event for ``ref`` signed (HMAC-SHA256 over the body) with ``secret``."""
    if forge not in FORGES:
        raise ValueError(f"forge must be one of {', '.join(FORGES)}, got {forge!r}")
    if not secret:
        raise ValueError("the webhook secret is empty")
    delivery = delivery or str(uuid.uuid4())
    body = push_body(ref)
    signature = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if forge == "gitea":
        headers = {"X-Gitea-Event": "push", "X-Gitea-Delivery": delivery,
                   "X-Gitea-Signature": signature}
    else:
        headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery,
                   "X-Hub-Signature-256": f"sha256={signature}"}
    return PushRequest(body, {"Content-Type": "application/json", **headers}, delivery)
