"""Tests for module_utils/fleet_providers.py over the corpus in tests/data/providers/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fleet import providers as fp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DATA = Path(__file__).resolve().parents[2] / "data" / "providers"


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line for line in text.split("\n") if line and not line.startswith("#")]


POSITIVES = _lines("positives.txt")
NEGATIVES = _lines("negatives.txt")


# ------------------------------------------------------------- corpus lines

def test_corpora_are_not_empty():
    # an empty or unreadable corpus would parametrize the two tests below into nothing
    assert len(POSITIVES) >= 40 and len(NEGATIVES) >= 20, (len(POSITIVES), len(NEGATIVES))


@pytest.mark.parametrize("text", POSITIVES, ids=[ascii(t)[:40] for t in POSITIVES])
def test_positive_corpus_line_is_found(text):
    findings = fp.scan_text(text)
    assert findings, f"no finding in {text!r}"
    assert all(f.provider == "anthropic" for f in findings)


@pytest.mark.parametrize("text", NEGATIVES, ids=[ascii(t)[:40] for t in NEGATIVES])
def test_negative_corpus_line_is_clean(text):
    assert fp.scan_text(text) == []


# ------------------------------------------------------------ matching rules

@pytest.mark.parametrize(("text", "term", "column"), [
    ("Claude-3", "claude", 1),
    ("use CLAUDE 3 here", "claude", 5),
    ("x: https://api.anthropic.com/v1", "api.anthropic.com", 12),
    ("ANTHROPIC_API_KEY=1", "ANTHROPIC_API_KEY", 1),
    ("export anthropic_base_url=x", "ANTHROPIC_BASE_URL", 8),
    ("model: sonnet", "sonnet", 8),
    ("claude-3-opus", "claude", 1),
])
def test_term_and_column(text, term, column):
    first = fp.scan_text(text)[0]
    assert (first.term, first.column, first.line) == (term, column, 1)


def test_prefixed_model_id_reports_each_term():
    findings = fp.scan_text("openrouter/anthropic/claude-3.5-sonnet")
    assert [(f.term, f.column) for f in findings] == [("anthropic", 12), ("claude", 22)]


@pytest.mark.parametrize(("text", "found"), [
    ("claude3", True), ("3claude", True), ("claudette", False), ("xclaude", False),
    ("ClaudeAI", True), ("CLAUDEX", False), ("CLAUDEAI", True),
    ("myClaude", True), ("MYCLAUDE", False),
    ("anthropical", False), ("philanthropic", False), ("anthropic's", True),
])
def test_word_boundary_both_sides(text, found):
    assert bool(fp.scan_text(text)) is found


@pytest.mark.parametrize(("text", "found"), [
    ("sonnet-4", True), ("sonnet4", True), ("sonnet.4", True), ("sonnet 4", False),
    ("Sonnet 18", False), ("a sonnet", False), ("haiku_3", True), ("haiku", False),
    ("opus-4-1", True), ("magnum opus", False), ("corpus-2", False),
])
def test_family_names_need_a_version(text, found):
    assert bool(fp.scan_text(text)) is found


@pytest.mark.parametrize(("text", "found"), [
    ("model: sonnet", True), ("default_model: 'haiku'", True), ('"model": "opus"}', True),
    ("model: sonnet # tier", True), ("style: sonnet", False), ("model: sonnet-ish", False),
    ("model: a sonnet", False),
])
def test_bare_alias_only_as_whole_model_value(text, found):
    assert bool(fp.scan_text(text)) is found


def test_columns_refer_to_original_text_after_normalisation():
    text = "\u00e9\u00e9 x: cl\u200baude and \uff23\uff4c\uff41\uff55\uff44\uff45"
    findings = fp.scan_text(text)
    assert [(f.column, f.match) for f in findings] == [
        (7, "cl\u200baude"), (19, "\uff23\uff4c\uff41\uff55\uff44\uff45")]
    assert text[findings[0].column - 1:].startswith("cl\u200baude")


def test_line_numbers_count_newlines():
    findings = fp.scan_text("a\nb\n  claude\nc\nanthropic\n")
    assert [(f.line, f.column) for f in findings] == [(3, 3), (5, 1)]


def test_normalise_leaves_ascii_alone():
    text = "plain ascii"
    assert fp.normalise(text) == (text, None)
    norm, offsets = fp.normalise("a\u200bb\uff43")
    assert norm == "abc"
    assert [offsets(i) for i in range(3)] == [0, 2, 3]


# ------------------------------------------------------------ banned lists

def test_resolve_names_dicts_and_unknown_names():
    providers = fp.resolve_banned(["Anthropic", {"name": "acme", "terms": ["acme-llm"]},
                                   "mistral", {"name": "anthropic", "terms": ["extra-term"]}])
    by_name = {p.name: p for p in providers}
    assert set(by_name) == {"anthropic", "acme", "mistral"}
    assert "claude" in by_name["anthropic"].terms and "extra-term" in by_name["anthropic"].terms
    assert fp.scan_text("uses ACME_LLM now", providers)[0].provider == "acme"
    assert fp.scan_text("mistral-large", providers)[0].term == "mistral"


@pytest.mark.parametrize("banned", [[], [3], [{"terms": ["x"]}], [{"name": "x", "terms": "-"}],
                                    [{"name": "x", "bogus": 1}], [""]])
def test_resolve_rejects_bad_entries(banned):
    with pytest.raises(ValueError, match="banned"):
        fp.resolve_banned(banned)


def test_default_is_anthropic_and_other_catalogue_entries_are_opt_in():
    assert fp.scan_text("openai gpt-4") == []
    assert {f.term for f in fp.scan_text("openai gpt-4", ["openai"])} == {"openai", "gpt"}


# ------------------------------------------------------------- structured

def test_scan_data_reports_key_paths_for_keys_and_values():
    data = {
        "golden_state_providers": [
            {"name": "local", "model": "qwen"},
            {"name": "x", "model": "m"},
            {"name": "direct", "base_url": "https://api.anthropic.com/v1"},
        ],
        "env": {"ANTHROPIC_API_KEY": "secret", "weird key": ["CLAUDE"]},
        "hermes": {"model": {"default": "x", "model": "Haiku"}},
        "n": [1, None, True, 2.5],
    }
    paths = {(f.path, f.term) for f in fp.scan_data(data)}
    assert paths == {
        ("golden_state_providers[2].base_url", "api.anthropic.com"),
        ("env.ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
        ('env["weird key"][0]', "claude"),
        ("hermes.model.model", "haiku"),
    }


def test_scan_data_root_and_policy_key_is_allowed():
    findings = fp.scan_data(["anthropic"], root="banned_providers")
    assert findings[0].allowed and "declares the ban" in findings[0].reason
    findings = fp.scan_data([{"model": "claude-3"}], root="providers")
    assert findings[0].path == "providers[0].model" and not findings[0].allowed


def test_scan_data_survives_cycles_and_bytes():
    loop: list = [b"claude"]
    loop.append(loop)
    assert [f.path for f in fp.scan_data(loop, root="x")] == ["x[0]"]


def test_banned_entries_and_is_banned():
    chain = [{"name": "local"}, {"name": "router", "model": "anthropic/claude-3"},
             "claude-3-haiku", {"name": "ok", "notes": "claudette"}]
    assert fp.banned_entries(chain) == [chain[1], chain[2]]
    assert fp.banned_entries(None) == []
    assert fp.is_banned("Claude") and not fp.is_banned({"name": "local"})


# ------------------------------------------------------------------ files

def test_yaml_file_findings_with_key_paths():
    path = str(DATA / "config-banned.yaml")
    findings = fp.scan_file(path)
    failures = [(f.line, f.column, f.term, f.path) for f in findings if not f.allowed]
    assert failures == [
        (3, 12, "claude", "model.default"),
        (11, 23, "anthropic", "golden_state_providers[1].model"),
        (11, 33, "claude", "golden_state_providers[1].model"),
        (13, 23, "api.anthropic.com", "golden_state_providers[2].base_url"),
        (16, 3, "ANTHROPIC_API_KEY", "env.ANTHROPIC_API_KEY"),
    ]
    allowed = [f for f in findings if f.allowed]
    assert [(f.line, f.path) for f in allowed] == [(18, "banned_providers[0]")]
    assert fp.format_finding(findings[0]).endswith(
        "config-banned.yaml:3:12: 'claude' (anthropic) in model.default")


def test_json_file_findings_with_key_paths():
    findings = fp.scan_file(str(DATA / "channels-banned.json"))
    assert [(f.line, f.term, f.path) for f in findings] == [
        (4, "claude", "channels[1].id"),
        (4, "anthropic", "channels[1].provider"),
        (6, "sonnet", "default.model"),
    ]


@pytest.mark.parametrize("name", ["config-clean.yaml", "channels-clean.json"])
def test_clean_files(name):
    assert fp.scan_file(str(DATA / name)) == []


def test_broken_yaml_still_gets_line_and_column(tmp_path):
    target = tmp_path / "broken.yaml"
    target.write_text("a: [unclosed\nb: claude\n")
    (finding,) = fp.scan_file(str(target))
    assert (finding.line, finding.column, finding.path) == (2, 4, None)


def test_scan_paths_walks_directories_skips_binary_and_vcs(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("CLAUDE 3\n")
    (tmp_path / "bin.dat").write_bytes(b"\0\0claude")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("claude")
    (tmp_path / "u16.txt").write_bytes("anthropic".encode("utf-16"))
    report = fp.scan_paths([str(tmp_path)])
    assert sorted(os.path.basename(f.file) for f in report.failures) == ["a.txt", "u16.txt"]
    assert report.skipped == [str(tmp_path / "bin.dat")]
    assert report.errors == []


def test_scan_paths_reports_missing_and_unreadable_without_raising(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("claude")
    secret.chmod(0)
    report = fp.scan_paths([str(tmp_path / "missing"), str(secret)])
    assert any("missing: no such file" in e for e in report.errors)
    if os.geteuid() != 0:  # root reads anything
        assert any("secret.yaml" in e for e in report.errors)


# -------------------------------------------------------------- allowlist

def test_allowlist_marks_findings_allowed_with_reason():
    rules = [{"path": "*/SOUL.md", "term": "claude", "reason": "identity prose"}]
    report = fp.scan_paths([str(DATA / "SOUL.md")], allowlist=rules)
    by_term = {f.term: f for f in report.findings}
    assert by_term["claude"].allowed and by_term["claude"].reason == "identity prose"
    assert not by_term["anthropic"].allowed
    rules.append({"path": "SOUL.md", "term": "anthropic", "reason": "names what it avoids"})
    report = fp.scan_paths([str(DATA / "SOUL.md")], allowlist=rules)
    assert report.failures == [] and len(report.allowed) == 2


def test_allowlist_other_file_or_term_does_not_apply():
    rules = [{"path": "*/README.md", "term": "claude", "reason": "x"},
             {"path": "*SOUL.md", "term": "openai", "reason": "x"}]
    report = fp.scan_paths([str(DATA / "SOUL.md")], allowlist=rules)
    assert len(report.failures) == 2


def test_allowlist_for_variables_uses_key_path_and_key_narrows_files():
    rules = [{"path": "golden_state_providers[*].notes", "reason": "doc"}]
    data = [{"notes": "not claude", "model": "claude-3"}]
    findings = fp.scan_data(data, root="golden_state_providers", allowlist=rules)
    assert [(f.path, f.allowed) for f in findings] == [
        ("golden_state_providers[0].notes", True), ("golden_state_providers[0].model", False)]
    rules = [{"path": "*config-banned.yaml", "key": "env.*", "reason": "vault var name"}]
    findings = fp.scan_file(str(DATA / "config-banned.yaml"), allowlist=rules)
    assert {f.path for f in findings if f.allowed} == {"env.ANTHROPIC_API_KEY",
                                                       "banned_providers[0]"}


@pytest.mark.parametrize("entries", [["x"], [{"path": "a"}], [{"path": "a", "reason": ""}],
                                     [{"path": "a", "reason": "r", "other": 1}]])
def test_allowlist_validation(entries):
    with pytest.raises(ValueError, match=r"allowlist\[0\]"):
        fp.parse_allowlist(entries)


# ------------------------------------------- where matches can start (_Shortcut)

# The catalogue, and a list whose leads start one another (mod / model / models),
# whose anchor overlaps itself (aa), with a two-word versioned term and an alias.
SHORTCUT_MATCHERS = [
    fp.Matcher(fp.resolve_banned(None)),
    fp.Matcher(fp.resolve_banned([
        "anthropic", "openai",
        {"name": "acme", "terms": ["mod", "models x", "aa", "acme api key", "x.acme.io"],
         "versioned": ["acme lm", "lm"], "aliases": ["acme", "lm x"], "prefixes": ["ak-"]}])),
]


def _spans(matches) -> list:
    return [(m.span(), m.lastgroup, m.span(m.lastgroup)) for m in matches]


def _assert_shortcut_finds_what_the_regex_finds(text: str) -> None:
    for matcher in SHORTCUT_MATCHERS:
        found = matcher._shortcut.matches(text)
        assert found is not None, ascii(text)
        assert _spans(found) == _spans(matcher.regex.finditer(text)), ascii(text)


def test_shortcut_is_built_for_ascii_terms_only():
    assert all(matcher._shortcut is not None for matcher in SHORTCUT_MATCHERS)
    greek = fp.Matcher(fp.resolve_banned([{"name": "x", "terms": ["\u03c9mega"]}]))
    assert greek._shortcut is None  # Unicode case folding: the regex alone
    assert [hit[3] for hit in greek.find("an \u03a9MEGA model")] == ["\u03c9mega"]


@pytest.mark.parametrize("text", [
    "\n".join(POSITIVES), "\n".join(NEGATIVES), " ".join(POSITIVES + NEGATIVES),
    "modelmodelmodel: opus", "modelmodelmodel x: opus", "model-x model: opus",
    "x_modelmodel_model: 'sonnet' # a", "ANTHROPIC_MODEL_model: haiku", "model: opus4",
    "console.anthropic.com api.anthropic.com  api - anthropic.com api.anthropic",
    "aaa aa aaaa aAa xaAaA", "mod models x modelsx model: acme, model: lm x",
    "acme-lm-4 acme lm4 lm.3", "sk-ant-sk-ant- ak-x xak-y", "Claude" * 50,
    "claude" + "-" * 100 + "3",
])
def test_shortcut_finds_what_the_regex_finds(text):
    _assert_shortcut_finds_what_the_regex_finds(text)


SHORTCUT_FRAGMENTS = st.sampled_from([
    "claude", "Claude", "CLAUDE", "anthropic", "api", "console", ".", "-", "_", " ", "\n",
    ":", "com", "model", "Model", "_model", ": ", "=", "opus", "sonnet", "haiku", "3", "4.1",
    "x", "aa", "a", "sk-ant-", "ak-", '"', "'", ",", "}", "#", "\t", "ai", "key", "KEY",
    "openai", "gpt", "mod", "models", "acme", "lm", "io", "\u00e9", "\u212a", "Z", "A", "ic",
])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SHORTCUT_FRAGMENTS, max_size=40).map("".join))
def test_property_shortcut_finds_what_the_regex_finds(text):
    _assert_shortcut_finds_what_the_regex_finds(text)


@pytest.mark.parametrize("text", ["anthrop\u0131c", "\u017fk-ant-x", "cla\u0130de"])
def test_letters_str_lower_does_not_fold_leave_it_to_the_regex(text):
    # re.IGNORECASE matches dotless i and long s with i and s: the shortcut
    # (which searches lower-cased text) must not judge such a text
    matcher = SHORTCUT_MATCHERS[0]
    assert matcher._shortcut.matches(text) is None
    assert matcher._matches(text) == [
        (m.start(m.lastgroup), m.end(m.lastgroup), *matcher._groups[m.lastgroup])
        for m in matcher.regex.finditer(text)]


def test_findings_on_one_long_line_keep_their_columns():
    pieces = [f"k{i}: harness" for i in range(20000)]
    for i in (3, 9000, 19990):
        pieces[i] = f"k{i}: claude-{i}"
    text = "{" + ", ".join(pieces) + "}\nafter: anthropic\n  x: claude\n"
    expected = [(1, text.index(f"claude-{i}") + 1, f"claude-{i}"[:6]) for i in (3, 9000, 19990)]
    expected += [(2, 8, "anthropic"), (3, 6, "claude")]
    assert [(f.line, f.column, f.match) for f in fp.scan_text(text)] == expected


def test_every_line_a_finding_after_many_lines():
    lines = [f"{'x' * (i % 13)} claude-{i}" if i % 3 == 0 else "harness" for i in range(9000)]
    findings = fp.scan_text("\n".join(lines))
    assert [(f.line, f.column) for f in findings] == [
        (i + 1, i % 13 + 2) for i in range(9000) if i % 3 == 0]


# ------------------------------------------------------------- properties

TERMS = ["claude", "anthropic", "api.anthropic.com", "ANTHROPIC_API_KEY"]
INVISIBLE = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
SAFE_TEXT = st.text(alphabet=st.sampled_from(list("bfgjkqvwxz0123456789 -_./:\n")), max_size=80)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(term=st.sampled_from(TERMS), data=st.data())
def test_invisible_chars_and_case_never_hide_a_term(term, data):
    chars = []
    for char in term:
        if data.draw(st.booleans()):
            char = char.swapcase()
        chars.append(char)
        if data.draw(st.booleans()):
            chars.append(data.draw(INVISIBLE))
    prefix = data.draw(SAFE_TEXT)
    text = prefix + " " + "".join(chars) + " " + data.draw(SAFE_TEXT)
    findings = fp.scan_text(text)
    assert findings, ascii(text)
    line = text.split("\n")[findings[0].line - 1]
    assert line[findings[0].column - 1:].startswith(findings[0].match)


@settings(max_examples=200)
@given(term=st.sampled_from(TERMS), fullwidth=st.lists(st.booleans(), min_size=30, max_size=30))
def test_fullwidth_letters_never_hide_a_term(term, fullwidth):
    text = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() and wide else c
                   for c, wide in zip(term, fullwidth, strict=False))
    assert fp.scan_text(f"x {text} y")


@settings(max_examples=300)
@given(SAFE_TEXT)
def test_text_without_terms_gives_no_findings(text):
    assert fp.scan_text(text) == []


@settings(max_examples=300)
@given(st.text())
def test_scanner_never_raises_on_arbitrary_text(text):
    for finding in fp.scan_text(text):
        assert finding.column >= 1 and finding.line >= 1
        assert finding.match  # a real span of the original text
    fp.scan_data({"k": text, text: [text]})


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_scanner_never_raises_on_arbitrary_bytes(tmp_path_factory, blob):
    target = tmp_path_factory.mktemp("blob") / "f.yaml"
    target.write_bytes(blob)
    report = fp.scan_paths([str(target)])
    assert report.errors == []
    json.dumps(report.to_dict())


@settings(max_examples=200)
@given(st.text(max_size=60), st.text(max_size=60))
def test_columns_point_into_the_original_text(before, after):
    text = f"{before} claude {after}"
    inserted = len(before) + 1  # offset of the claude this test put there
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    findings = fp.scan_text(text)
    assert findings, f"no finding in {text!r}"
    covered = False
    for finding in findings:
        line = lines[finding.line - 1]
        assert line[finding.column - 1:].startswith(finding.match)
        offset = starts[finding.line - 1] + finding.column - 1
        covered = covered or offset <= inserted < offset + len(finding.match)
    assert covered, f"the inserted claude at offset {inserted} is not found in {text!r}"
