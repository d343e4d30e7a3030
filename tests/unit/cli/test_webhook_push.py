"""webhook-push against a real HTTP server on 127.0.0.1 that checks the signature."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import threading
from typing import ClassVar

import pytest
from fleet_cli import webhook_push

SECRET = b"0123456789abcdef"


class Receiver(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        good = hmac.compare_digest(self.headers.get("X-Gitea-Signature", ""),
                                   hmac.new(SECRET, body, hashlib.sha256).hexdigest())
        Receiver.seen.append(dict(self.headers))
        self.send_response(202 if good else 403)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.seen.clear()
    yield f"http://127.0.0.1:{server.server_port}/hooks/golden-state-pull"
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(SECRET + b"\n")  # a trailing newline, as editors leave it
    path.chmod(0o600)
    return path


def test_a_signed_push_is_accepted_and_names_its_delivery(receiver, secret_file, capsys):
    assert webhook_push.main([receiver, "--secret-file", str(secret_file),
                              "--delivery", "demo-1"]) == 0
    assert capsys.readouterr().out == "HTTP 202, delivery demo-1\n"
    assert Receiver.seen[0]["X-Gitea-Delivery"] == "demo-1"


def test_a_refused_push_exits_1(receiver, tmp_path, capsys):
    wrong = tmp_path / "wrong"
    wrong.write_bytes(b"not the secret")
    wrong.chmod(0o600)
    assert webhook_push.main([receiver, "--secret-file", str(wrong)]) == 1
    assert capsys.readouterr().out.startswith("HTTP 403")


def test_a_readable_secret_file_is_refused_without_showing_it(receiver, secret_file, capsys):
    secret_file.chmod(0o644)
    assert webhook_push.main([receiver, "--secret-file", str(secret_file)]) == 1
    err = capsys.readouterr().err
    assert "chmod 600" in err and SECRET.decode() not in err
    assert not Receiver.seen


def test_an_unreachable_receiver_is_an_error_not_a_traceback(secret_file, capsys):
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    port = server.server_port
    server.server_close()  # nothing listens there now
    assert webhook_push.main([f"http://127.0.0.1:{port}/hooks/x",
                              "--secret-file", str(secret_file)]) == 1
    assert "webhook-push send: error:" in capsys.readouterr().err


def test_a_non_http_url_is_a_usage_error(secret_file, capsys):
    assert webhook_push.main(["file:///etc/passwd", "--secret-file", str(secret_file)]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
