"""fleet_config_policy: every rule both ways, policy-file errors, URL edge cases, no secrets."""

from __future__ import annotations

import copy
import ipaddress
import re
from pathlib import Path

import pytest
import yaml
from fleet.config_policy import (
    PolicyError,
    Violation,
    check_config,
    check_config_policy,
    classify_endpoint,
    excerpt,
    is_local_endpoint,
    load_policy,
    load_policy_text,
    parse_policy,
)
from fleet.overlay import render_config
from hypothesis import assume, given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "golden_state" / "files"
DEFAULT_POLICY = ROLE / "policy" / "config.yml"
WIZARDS = ROOT / "inventory" / "group_vars" / "wizards.yml"

POLICY_DOC = {
    "version": 1,
    "endpoints": {
        "keys": ["base_url", "api_base", "endpoint", "url"],
        "allow": [
            {"host": "models.fleet.example", "reason": "the fleet's own inference gateway"},
            {"host": "*.gpu.fleet.example", "reason": "per-site GPU boxes"},
            {"host": "plain.fleet.example", "reason": "lab box", "schemes": ["http", "https"]},
            {"host": "10.0.0.7", "reason": "rack inference server"},
            {"host": "2001:db8::7", "reason": "rack inference server over IPv6"},
        ],
    },
    "credentials": {
        "keys": ["api_key", "*_api_key", "apikey", "token", "*_token", "secret", "*_secret",
                 "password", "authorization"],
        "value_patterns": ["^sk-[A-Za-z0-9_-]{16,}$", "^Bearer\\s+\\S{16,}$"],
    },
    "speech": {"tts_providers": ["edge", "piper", "local"],
               "stt_providers": ["local", "whisper"]},
}
POLICY = parse_policy(POLICY_DOC, "policy.yml")
SECRET = "sk-" + "Zq9" * 8  # generated here, matches the sk- pattern
BEARER = "Bearer " + "tOk3n" * 5


def config(**sections):
    base = {
        "model": {"default": "m", "providers": [
            {"name": "gw", "base_url": "https://models.fleet.example/v1", "model": "m"},
            {"name": "ollama", "base_url": "http://127.0.0.1:11434/v1", "model": "q",
             "api_key_env": "OLLAMA_KEY"},
        ]},
        "tts": {"enabled": False, "provider": "edge"},
        "stt": {"enabled": False, "provider": "local"},
    }
    base.update(sections)
    return base


def endpoint_config(url, key="base_url"):
    data = config()
    data["model"]["providers"][0][key] = url
    return data


def rules(violations):
    return [(v.path, v.rule) for v in violations]


# ------------------------------------------------------------------ the repository's own files


def test_default_policy_passes_todays_overlay_and_inventory_chain():
    chain = yaml.safe_load(WIZARDS.read_text())["golden_state_providers"]
    text = render_config((ROLE / "overlay" / "config.yaml").read_text(), chain)
    assert check_config_policy(text, str(DEFAULT_POLICY), "config.yaml") == []
    data = yaml.safe_load(text)
    assert data["tts"]["provider"] == "edge" and data["stt"]["provider"] == "local"


def test_default_policy_allows_openrouter_with_a_reason():
    policy = load_policy(str(DEFAULT_POLICY))
    entry = next(e for e in policy.allow if e.host == "openrouter.ai")
    assert entry.reason and entry.schemes == ("https",)


def test_clean_config_has_no_violations():
    assert check_config(config(), POLICY, "config.yaml") == []


# ------------------------------------------------------------------ endpoints


def test_remote_endpoint_is_refused_with_rule_and_permit():
    (violation,) = check_config(endpoint_config("https://api.example.com/v1"), POLICY,
                                "config.yaml")
    assert violation == Violation(
        "config.yaml", "model.providers[0].base_url", "endpoints.local_or_allowed",
        "endpoint host 'api.example.com' is not local and not allowlisted",
        "add {host: api.example.com, reason: ...} to endpoints.allow in policy.yml")
    assert str(violation) == (
        "config.yaml: model.providers[0].base_url: endpoint host 'api.example.com' is not "
        "local and not allowlisted (rule endpoints.local_or_allowed; to permit: add "
        "{host: api.example.com, reason: ...} to endpoints.allow in policy.yml)")


@pytest.mark.parametrize("url", [
    "https://models.fleet.example/v1",
    "https://MODELS.Fleet.Example/v1",  # uppercase host
    "https://models.fleet.example./v1",  # trailing dot
    "https://user@models.fleet.example:8443/v1",
    "https://a.gpu.fleet.example/v1",  # wildcard
    "https://b.a.gpu.fleet.example/v1",  # wildcard, deeper
    "http://plain.fleet.example/v1",  # entry with http in its schemes
    "https://10.0.0.7/v1",
    "https://[2001:db8::7]:443/v1",
    "https://[2001:0db8:0:0:0:0:0:7]/v1",  # another spelling of the same address
])
def test_allowlisted_endpoints_pass(url):
    assert check_config(endpoint_config(url), POLICY, "config.yaml") == []


@pytest.mark.parametrize("url", [
    "http://localhost:11434/v1", "http://LOCALHOST/", "http://localhost./v1",
    "https://127.0.0.1/", "http://127.8.9.10:80", "http://[::1]:8080", "http://[::1]/v1",
    "http://[0:0:0:0:0:0:0:1]/", "http://[::ffff:127.0.0.1]/",
    "unix:/run/ollama.sock", "unix:///run/ollama.sock", "http+unix://%2Frun%2Follama.sock/v1",
    "HTTP://127.0.0.1/", "http://127.0.0.1#@evil.example/", "http://127.0.0.1?@evil.example",
])
def test_local_endpoints_pass(url):
    assert classify_endpoint(url).local, classify_endpoint(url)
    assert check_config(endpoint_config(url), POLICY, "config.yaml") == []


@pytest.mark.parametrize(("url", "host"), [
    ("http://127.0.0.1@evil.example/", "evil.example"),  # userinfo trick
    ("http://localhost:pw@evil.example/", "evil.example"),
    ("http://a@127.0.0.1@evil.example/", "evil.example"),
    ("http://127.0.0.1.evil.example/", "127.0.0.1.evil.example"),
    ("http://localhost.evil.example/", "localhost.evil.example"),
    ("http://foo.localhost/", "foo.localhost"),
    ("http://0.0.0.0/", "0.0.0.0"),  # noqa: S104  (a URL under test, nothing binds)
    ("http://10.0.0.8/", "10.0.0.8"),
    ("http://[::2]/", "::2"),
    ("http://[::ffff:10.0.0.1]/", "::ffff:a00:1"),
    ("https://gpu.fleet.example/", "gpu.fleet.example"),  # wildcard does not cover the apex
    ("https://evilgpu.fleet.example/", "evilgpu.fleet.example"),
    ("https://models.fleet.example.evil.example/", "models.fleet.example.evil.example"),
    ("ftp://localhost/", "localhost"),  # only http(s) to loopback counts as local
    ("ws://127.0.0.1/", "127.0.0.1"),
])
def test_non_local_endpoints_are_refused_naming_the_real_host(url, host):
    found = classify_endpoint(url)
    assert (found.kind, found.host) == ("remote", host)
    violations = check_config(endpoint_config(url), POLICY, "config.yaml")
    (violation,) = [v for v in violations if v.rule == "endpoints.local_or_allowed"]
    assert f"'{host}'" in violation.message
    assert ("user name, not the host" in violation.message) == ("@" in url)


@pytest.mark.parametrize("url", [
    "http://127.1/", "http://0x7f000001/", "http://2130706433/", "http://0177.0.0.1/",
    "http://127.000.000.001/", "http://256.0.0.1/",
    "http://::1/", "http://[evil.example]/", "http://[127.0.0.1]/", "http://[::1/",
    "http://%6cocalhost/", "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",
    "http://127.0.0.1\\@evil.example/", "http://127.0.0.1\t.evil.example/", " http://x.example",
    "http://localhost:99999/", "http://localhost:port/", "http:///v1", "http://:80/",
    "localhost:11434", "127.0.0.1:11434/v1", "//evil.example/v1", "${OLLAMA_URL}",
    "http://a..b/", "http://localhost../",
])
def test_unparsable_endpoints_are_refused(url):
    assert classify_endpoint(url).kind == "invalid", classify_endpoint(url)
    (violation,) = check_config(endpoint_config(url), POLICY, "config.yaml")
    assert violation.rule == "endpoints.local_or_allowed"
    assert "cannot be judged" in violation.message


def test_scheme_not_allowed_for_an_allowlisted_host():
    (violation,) = check_config(endpoint_config("http://models.fleet.example/v1"), POLICY,
                                "config.yaml")
    assert violation.rule == "endpoints.local_or_allowed"
    assert "allowlisted for https only, not http" in violation.message
    assert violation.permit == ("use https, or add http to the schemes of "
                                "endpoints.allow[0] in policy.yml")


def test_permit_quotes_addresses_and_names_a_scheme():
    (v4,) = check_config(endpoint_config("https://10.9.9.9/"), POLICY, "c")
    assert 'add {host: "10.9.9.9", reason: ...}' in v4.permit
    (v6,) = check_config(endpoint_config("http://[2001:db8::9]/"), POLICY, "c")
    assert 'add {host: "2001:db8::9", schemes: [http], reason: ...}' in v6.permit
    assert yaml.safe_load(v6.permit.split("add ", 1)[1].split(" to ")[0].replace("...", "x")) \
        == {"host": "2001:db8::9", "schemes": ["http"], "reason": "x"}


def test_endpoint_keys_anywhere_any_case_and_in_lists():
    data = config(auxiliary={"vision": {"provider": "auto", "BASE_URL": "https://x.example/"}},
                  extra={"urls": [], "Endpoint": ["http://127.0.0.1/", "https://y.example"]})
    assert rules(check_config(data, POLICY, "c")) == [
        ("auxiliary.vision.BASE_URL", "endpoints.local_or_allowed"),
        ("extra.Endpoint[1]", "endpoints.local_or_allowed"),
    ]


def test_non_endpoint_keys_empty_and_non_string_values_are_not_judged():
    data = config(display={"homepage": "https://example.com"},
                  auxiliary={"vision": {"base_url": ""}, "x": {"url": None},
                             "y": {"endpoint": 3}})
    assert check_config(data, POLICY, "c") == []


def test_extra_allow_entries_permit_a_host():
    data = endpoint_config("https://api.example.com/v1")
    extra = [{"host": "api.example.com", "reason": "inventory says so"}]
    assert check_config(data, POLICY, "c", extra_allow=extra) == []
    assert check_config(data, POLICY, "c", extra_allow=[{"host": "*.example.com",
                                                         "reason": "r"}]) == []
    (violation,) = check_config(endpoint_config("http://api.example.com/"), POLICY, "c",
                                extra_allow=extra)
    assert "golden_state_endpoint_allowlist[0]" in violation.permit


@pytest.mark.parametrize(("extra", "field"), [
    ([{"host": "api.example.com"}], "golden_state_endpoint_allowlist[0].reason"),
    ([{"host": "api.example.com", "reason": "  "}], "golden_state_endpoint_allowlist[0].reason"),
    ([{"host": "a.example", "reason": "r"}, {"reason": "r"}],
     "golden_state_endpoint_allowlist[1].host"),
    ([{"host": "a.example", "reason": "r", "port": 1}],
     "golden_state_endpoint_allowlist[0].port"),
    (["a.example"], "golden_state_endpoint_allowlist[0]"),
    ({"host": "a.example"}, "golden_state_endpoint_allowlist"),
])
def test_broken_extra_allow_entries_are_policy_errors(extra, field):
    with pytest.raises(PolicyError, match="^golden_state_endpoint_allowlist: "
                                          + re.escape(field) + ": "):
        check_config(config(), POLICY, "c", extra_allow=extra)


# ------------------------------------------------------------------ credentials


@pytest.mark.parametrize("key", ["api_key", "API_KEY", "openrouter_api_key", "apikey", "token",
                                 "github_token", "secret", "client_secret", "password",
                                 "Authorization"])
def test_inline_credentials_are_refused_without_showing_the_value(key):
    value = "hunter2-" + key  # not shaped like any pattern: refused for its key alone
    data = config(auxiliary={"web": {key: value}})
    (violation,) = check_config(data, POLICY, "config.yaml")
    assert (violation.path, violation.rule) == (f"auxiliary.web.{key}", "credentials.no_inline")
    assert f"key '{key}' carries an inline value" in violation.message
    assert value not in str(violation) and "hunter2" not in str(violation)


@pytest.mark.parametrize("value", [SECRET, 12345678, 3.5, ["x", "y"]])
def test_numbers_and_list_items_under_credential_keys_are_inline_too(value):
    violations = check_config(config(extra={"password": value}), POLICY, "c")
    assert {v.rule for v in violations} == {"credentials.no_inline"}
    assert all(str(value) not in str(v) for v in violations)


@pytest.mark.parametrize("value", ["${OPENROUTER_API_KEY}", " ${X} ", "", None, True, False,
                                   {}])
def test_env_references_and_empty_values_are_fine(value):
    assert check_config(config(extra={"api_key": value}), POLICY, "c") == []


def test_api_key_env_names_a_variable_and_is_fine():
    assert check_config(config(extra={"api_key_env": "OPENROUTER_API_KEY"}), POLICY, "c") == []
    # even when a broader glob makes it a credential key, a variable name passes ...
    doc = copy.deepcopy(POLICY_DOC)
    doc["credentials"]["keys"].append("*api_key*")
    broad = parse_policy(doc, "broad.yml")
    assert check_config(config(extra={"api_key_env": "OPENROUTER_API_KEY"}), broad, "c") == []
    # ... but not something else
    (violation,) = check_config(config(extra={"api_key_env": "not a name!"}), broad, "c")
    assert violation.rule == "credentials.no_inline" and "not a name" not in str(violation)


@pytest.mark.parametrize("value", ["$OPENROUTER_API_KEY", "${X}y", "${1X}", "$(cat key)"])
def test_things_that_only_look_like_references_are_inline(value):
    (violation,) = check_config(config(extra={"token": value}), POLICY, "c")
    assert violation.rule == "credentials.no_inline"


@pytest.mark.parametrize("value", [SECRET, BEARER])
def test_secret_shaped_values_are_refused_under_any_key(value):
    data = config(display={"personality": value})
    (violation,) = check_config(data, POLICY, "config.yaml")
    assert (violation.path, violation.rule) == ("display.personality",
                                                "credentials.value_pattern")
    assert value not in str(violation) and value[:12] not in str(violation)
    assert "credentials.value_patterns[" in violation.message


def test_secret_shaped_value_under_a_credential_key_is_reported_once():
    (violation,) = check_config(config(extra={"api_key": SECRET}), POLICY, "c")
    assert violation.rule == "credentials.no_inline"


@pytest.mark.parametrize("value", ["sk-short", "Bearer", "a sk-" + "x" * 20, "Bearer abc"])
def test_values_not_matching_the_patterns_pass(value):
    assert check_config(config(display={"personality": value}), POLICY, "c") == []


def test_password_in_a_url_is_refused_and_the_host_still_judged():
    url = "https://user:pw-Geheim@api.example.com/v1"
    violations = check_config(endpoint_config(url), POLICY, "c")
    assert [v.rule for v in violations] == ["credentials.url_password",
                                            "endpoints.local_or_allowed"]
    assert all("Geheim" not in str(v) for v in violations)
    local = "http://user:pw-Geheim@127.0.0.1/"
    assert rules(check_config(config(extra={"note": local}), POLICY, "c")) == [
        ("extra.note", "credentials.url_password")]
    assert check_config(config(extra={"note": "http://user@127.0.0.1/"}), POLICY, "c") == []
    assert rules(check_config(config(extra={"note": "see " + local}), POLICY, "c")) == [
        ("extra.note", "credentials.url_password")]
    assert check_config(config(extra={"note": "http://127.0.0.1:8080/a@b"}), POLICY, "c") == []


def test_unparsable_endpoint_with_userinfo_is_not_excerpted():
    violations = check_config(endpoint_config("http://u:Geheim@[bad/"), POLICY, "c")
    assert [v.rule for v in violations] == ["credentials.url_password",
                                            "endpoints.local_or_allowed"]
    assert "cannot be judged" in violations[1].message
    assert all("Geheim" not in str(v) for v in violations)
    (violation,) = check_config(endpoint_config("http://Geheim@[bad/"), POLICY, "c")
    assert "Geheim" not in str(violation)


# ------------------------------------------------------------------ speech


@pytest.mark.parametrize(("section", "provider", "ok"), [
    ("tts", "edge", True), ("tts", "piper", True), ("tts", "openai", False),
    ("tts", "Edge", False), ("stt", "local", True), ("stt", "whisper", True),
    ("stt", "openai", False), ("stt", "groq", False),
])
def test_speech_providers(section, provider, ok):
    data = config(**{section: {"enabled": True, "provider": provider}})
    violations = check_config(data, POLICY, "config.yaml")
    if ok:
        assert violations == []
    else:
        (violation,) = violations
        assert (violation.path, violation.rule) == (f"{section}.provider",
                                                    f"speech.{section}_provider")
        assert f"'{provider}' is not one of" in violation.message
        assert f"add '{provider}' to speech.{section}_providers in policy.yml" \
            in violation.permit


def test_speech_edge_cases():
    assert check_config(config(tts={"enabled": False}), POLICY, "c") == []
    assert rules(check_config(config(tts={"enabled": True}), POLICY, "c")) == [
        ("tts", "speech.tts_provider")]
    assert rules(check_config(config(stt={"provider": 3}), POLICY, "c")) == [
        ("stt.provider", "speech.stt_provider")]
    data = config()
    del data["tts"], data["stt"]
    assert check_config(data, POLICY, "c") == []
    doc = copy.deepcopy(POLICY_DOC)
    del doc["speech"]
    assert check_config(config(tts={"provider": "anything"}), parse_policy(doc, "p"), "c") == []


# ------------------------------------------------------------------ walking, formatting


def test_paths_quote_odd_keys_and_alias_cycles_end():
    loop: list = []
    loop.append(loop)
    data = {"a b": {"base_url": "https://x.example"}, "loop": loop}
    assert [v.path for v in check_config(data, POLICY, "c")] == ['["a b"].base_url']
    (top,) = check_config(SECRET, POLICY, "c")
    assert str(top).startswith("c: $: value looks like a credential")


def test_excerpt_escapes_and_truncates():
    assert excerpt("a'b\n\u200b") == "'a\\'b\\n\\u200b'"
    assert excerpt("x" * 100) == "'" + "x" * 40 + "'..."


def test_invalid_endpoint_message_is_a_short_escaped_excerpt():
    url = "not a url\n" + "z" * 200
    (violation,) = check_config(endpoint_config(url), POLICY, "c")
    assert "\n" not in str(violation) and "z" * 41 not in str(violation)
    assert "'not a url\\n" in violation.message


def test_check_config_policy_returns_lines_and_reports_bad_yaml(tmp_path):
    policy = tmp_path / "p.yml"
    policy.write_text(yaml.safe_dump(POLICY_DOC))
    text = yaml.safe_dump(endpoint_config("https://api.example.com/"))
    (line,) = check_config_policy(text, str(policy), "config.yaml")
    assert line.startswith("config.yaml: model.providers[0].base_url: endpoint host")
    assert check_config_policy(text.encode(), str(policy), "config.yaml") == [line]
    assert check_config_policy(endpoint_config("https://api.example.com/"), str(policy),
                               "config.yaml", [{"host": "api.example.com", "reason": "r"}]) == []
    (bad,) = check_config_policy("a: [", str(policy), "config.yaml")
    assert bad.startswith("config.yaml: invalid YAML")
    with pytest.raises(PolicyError, match="cannot read config policy"):
        check_config_policy(text, str(tmp_path / "missing.yml"), "config.yaml")


# ------------------------------------------------------------------ policy-file errors


def broken(path: str, value=None, delete: bool = False) -> dict:
    doc = copy.deepcopy(POLICY_DOC)
    *head, last = path.split(".")
    node = doc
    for part in head:
        node = node[int(part)] if part.isdigit() else node[part]
    if delete:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


@pytest.mark.parametrize(("doc", "field", "problem"), [
    (broken("version", 2), "version", "unsupported version"),
    (broken("version", True), "version", "unsupported version"),
    (broken("version", delete=True), "version", "missing"),
    (broken("colour", "red"), "colour", "unknown key"),
    (broken("endpoints.keyz", []), "endpoints.keyz", "unknown key"),
    (broken("endpoints.keys", "base_url"), "endpoints.keys", "expected a list"),
    (broken("endpoints.keys", []), "endpoints.keys", "at least one"),
    (broken("endpoints.keys", ["base_url", 3]), r"endpoints.keys\[1\]", "non-empty string"),
    (broken("endpoints", delete=True), "endpoints", "missing"),
    (broken("endpoints.allow.0.reason", delete=True), r"endpoints.allow\[0\].reason",
     "needs a reason"),
    (broken("endpoints.allow.0.reason", ""), r"endpoints.allow\[0\].reason", "needs a reason"),
    (broken("endpoints.allow.0.hots", "x"), r"endpoints.allow\[0\].hots", "unknown key"),
    (broken("endpoints.allow.0.host", "*"), r"endpoints.allow\[0\].host", "plain ASCII"),
    (broken("endpoints.allow.0.host", "*.com"), r"endpoints.allow\[0\].host", "two labels"),
    (broken("endpoints.allow.0.host", "a.*.com"), r"endpoints.allow\[0\].host", ""),
    (broken("endpoints.allow.0.host", "*.10.0.0.1"), r"endpoints.allow\[0\].host",
     "not an address"),
    (broken("endpoints.allow.0.host", "http://x.example"), r"endpoints.allow\[0\].host", ""),
    (broken("endpoints.allow.0.host", 3722), r"endpoints.allow\[0\].host", "quote IP"),
    (broken("endpoints.allow.0.schemes", ["h ttp"]), r"endpoints.allow\[0\].schemes\[0\]",
     "not a URL scheme"),
    (broken("endpoints.allow", {"host": "x"}), "endpoints.allow", "expected a list"),
    (broken("credentials.keys", None), "credentials.keys", "expected a list"),
    (broken("credentials.value_patterns", ["(unclosed"]),
     r"credentials.value_patterns\[0\]", "invalid regular expression"),
    (broken("speech.tts_providers", "edge"), "speech.tts_providers", "expected a list"),
    (broken("speech.voices", []), "speech.voices", "unknown key"),
])
def test_policy_errors_name_the_file_and_field(doc, field, problem):
    with pytest.raises(PolicyError, match=rf"^policy.yml: {field}: .*{problem}"):
        parse_policy(doc, "policy.yml")


@pytest.mark.parametrize(("text", "problem"), [
    ("[1, 2]\n", r"\$: expected a mapping"),
    ("", r"\$: expected a mapping, got NoneType"),
    ("version: 1\nversion: 1\n", r"invalid YAML: key 'version' at line 2 repeats line 1"),
    ("a: [\n", r"invalid YAML at line \d+ column \d+: "),
])
def test_policy_text_errors(text, problem):
    with pytest.raises(PolicyError, match=rf"^p.yml: {problem}"):
        load_policy_text(text, "p.yml")


def test_load_policy_reads_files(tmp_path):
    path = tmp_path / "p.yml"
    path.write_bytes(b"\xff")
    with pytest.raises(PolicyError, match=rf"^{path}: config policy is not UTF-8"):
        load_policy(str(path))
    path.write_text("---\n" + yaml.safe_dump(POLICY_DOC))
    assert load_policy(str(path)).name == str(path)


# ------------------------------------------------------------------ properties

LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
NAMES = st.lists(LABEL, min_size=1, max_size=4).map(".".join)
PORT = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
PATH = st.one_of(st.just(""), st.from_regex(r"/[A-Za-z0-9._~/-]{0,30}", fullmatch=True))
CASE = st.sampled_from([str.lower, str.upper, str.title])
LOOPBACK = st.one_of(
    CASE.map(lambda f: f("localhost")),
    st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
    .map(lambda t: "127.{}.{}.{}".format(*t)),
    st.sampled_from(["[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]"]),
)
PUBLIC_V4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(
    lambda a: a not in ipaddress.IPv4Network("127.0.0.0/8")).map(str)


@given(NAMES, st.sampled_from(["http", "https"]), PORT, PATH, st.booleans())
def test_generated_names_are_never_local(name, scheme, port, path, dot):
    assume(name != "localhost")
    found = classify_endpoint(f"{scheme}://{name}{'.' if dot else ''}{port}{path}")
    assert not found.local
    assert found.kind == "remote" and found.host == name


@given(PUBLIC_V4, PORT, PATH)
def test_non_loopback_addresses_are_never_local(address, port, path):
    assert not is_local_endpoint(f"http://{address}{port}{path}")


@given(LOOPBACK, st.sampled_from(["http", "https", "HTTP"]), PORT, PATH)
def test_loopback_urls_are_local(host, scheme, port, path):
    assert is_local_endpoint(f"{scheme}://{host}{port}{path}")


@given(LOOPBACK, NAMES, PORT, PATH)
def test_loopback_in_userinfo_never_makes_a_remote_host_local(loopback, name, port, path):
    assume(name != "localhost")
    assert not is_local_endpoint(f"http://{loopback}@{name}{port}{path}")
    assert not is_local_endpoint(f"http://{loopback}.{name}{port}{path}")


@given(st.text(max_size=60))
def test_classifier_never_raises_and_local_means_loopback_or_socket(text):
    found = classify_endpoint(text)
    assert found.kind in {"local", "remote", "invalid"}
    if found.local and found.scheme not in {"unix", "http+unix"}:
        assert found.host == "localhost" or ipaddress.ip_address(found.host).is_loopback \
            or ipaddress.ip_address(found.host).ipv4_mapped.is_loopback
