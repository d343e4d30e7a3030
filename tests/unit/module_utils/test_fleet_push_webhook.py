"""fleet.push_webhook: the push event a git server sends, signed as each forge signs it."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from fleet.push_webhook import push_body, signed_push


def test_gitea_push_is_signed_over_the_exact_body():
    push = signed_push(b"s3cret", delivery="d-1")
    expected = hmac.new(b"s3cret", push.body, hashlib.sha256).hexdigest()
    assert push.headers["X-Gitea-Signature"] == expected
    assert push.headers["X-Gitea-Event"] == "push"
    assert push.headers["X-Gitea-Delivery"] == push.delivery == "d-1"
    assert json.loads(push.body)["ref"] == "refs/heads/main"


def test_github_push_carries_the_sha256_prefix():
    push = signed_push(b"k", ref="refs/heads/dev", forge="github")
    expected = hmac.new(b"k", push.body, hashlib.sha256).hexdigest()
    assert push.headers["X-Hub-Signature-256"] == f"sha256={expected}"
    assert push.headers["X-GitHub-Event"] == "push"
    assert json.loads(push.body)["ref"] == "refs/heads/dev"


def test_each_push_gets_its_own_delivery_id():
    assert signed_push(b"k").delivery != signed_push(b"k").delivery


def test_the_payload_never_names_a_real_commit():
    # The host must pull the branch; a payload's "after" is never trusted.
    assert json.loads(push_body())["after"] == "f" * 40


@pytest.mark.parametrize(("secret", "forge", "message"), [
    (b"", "gitea", "secret is empty"),
    (b"k", "gitlab", "forge must be one of"),
])
def test_bad_arguments_are_refused(secret, forge, message):
    with pytest.raises(ValueError, match=message):
        signed_push(secret, forge=forge)
