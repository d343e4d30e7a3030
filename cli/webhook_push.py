# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""webhook-push: send a host's receiver a signed push event, as the git server would.

    webhook-push URL --secret-file FILE [--ref REF] [--forge gitea|github] [--delivery ID]

Repeats a push by hand (a lost webhook, the demo's round trip). The secret
file must be private (0600); the secret never appears in the output. Prints
the HTTP status and the delivery id, which names the run in
``golden-state-pull history``. Exit status: 0 when the receiver accepted the
push (2xx), 1 otherwise, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

from fleet.files import read_private_file
from fleet.push_webhook import FORGES, signed_push
from fleet_cli.cli_common import add_version_argument, error

PROG = "webhook-push"


def send(url: str, secret: bytes, ref: str, forge: str, delivery: str | None,
         timeout: float = 10) -> tuple[int, str]:
    """POST one signed push; returns (HTTP status, delivery id)."""
    push = signed_push(secret, ref, forge, delivery)
    # main() admits only http(s) URLs.
    request = urllib.request.Request(url, data=push.body, method="POST",  # noqa: S310
                                     headers=push.headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, push.delivery
    except urllib.error.HTTPError as err:
        return err.code, push.delivery


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_version_argument(parser)
    parser.add_argument("url", help="the receiver's hook URL, http(s)://HOST:PORT/hooks/ID")
    parser.add_argument("--secret-file", required=True, help="the shared HMAC secret (0600)")
    parser.add_argument("--ref", default="refs/heads/main")
    parser.add_argument("--forge", choices=FORGES, default="gitea")
    parser.add_argument("--delivery", help="delivery id (default: a new UUID)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.url.startswith(("http://", "https://")):
        return error(PROG, "send", f"not an http(s) URL: {args.url!r}", 2)
    try:
        secret = read_private_file(args.secret_file).strip()
        status, delivery = send(args.url, secret, args.ref, args.forge, args.delivery)
    except (OSError, ValueError) as exc:
        return error(PROG, "send", str(exc))
    print(f"HTTP {status}, delivery {delivery}")
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
