"""Decoded values: scan_document judges YAML and JSON as a reader gets them."""

from __future__ import annotations

import gc
import json
import signal
from unittest import mock

import pytest
import yaml
from fleet import providers as fp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _failures(text: str, name: str = "config.yaml", **kwargs) -> list[fp.Finding]:
    return [f for f in fp.scan_document(text, name, **kwargs) if not f.allowed]


def _one(text: str, name: str = "config.yaml", **kwargs) -> fp.Finding:
    findings = _failures(text, name, **kwargs)
    assert len(findings) == 1, [f.to_dict() for f in findings]
    return findings[0]


# ------------------------------------------------------------ escape classes

@pytest.mark.parametrize("value", [
    r'"\x61nthropic"',            # YAML \xNN
    r'"\u0061nthropic"',          # YAML \uNNNN
    r'"\U00000061nthropic"',      # YAML \UNNNNNNNN
    r'"\x41NTHROPIC"',            # case does not matter once decoded
    '"anthro\\\n      pic"',      # escaped line break joins the lines
    r'"anthro\u200bpic"',         # an escaped invisible character is removed
    r'"\uff41nthropic"',          # an escaped fullwidth letter folds (NFKC)
])
def test_yaml_escape_is_decoded(value):
    finding = _one(f"chain:\n  - base_url: http://localhost\n    provider: {value}\n")
    assert (finding.provider, finding.term) == ("anthropic", "anthropic")
    assert finding.path == "chain[0].provider"
    assert (finding.file, finding.line, finding.column) == ("config.yaml", 3, 15)
    assert finding.decoded
    assert fp.format_finding(finding).startswith(
        "config.yaml:3:15: 'anthropic' (anthropic)")
    assert fp.format_finding(finding).endswith(" in chain[0].provider (decoded value)")


def test_yaml_escaped_line_break_split_over_lines():
    text = 'notes:\n  fallback: "openrouter/clau\\\n    de-3"\n'
    finding = _one(text)
    assert (finding.term, finding.path, finding.line, finding.decoded) == (
        "claude", "notes.fallback", 2, True)


@pytest.mark.parametrize("value", [r'"\u0063laude"', r'"\u0043\u004C\u0041\u0055\u0044\u0045"',
                                   r'"cl\u0061ude-3-opus"',
                                   r'"\ud835\udc1c\ud835\udc25aude"'])  # bold c, bold l
def test_json_unicode_escape_is_decoded(value):
    text = '{\n  "providers": [\n    {"name": "local"},\n    {"model": ' + value + "}\n  ]\n}\n"
    finding = _one(text, "channels.json")
    assert (finding.term, finding.path, finding.line, finding.decoded) == (
        "claude", "providers[1].model", 4, True)
    assert finding.column == 15


def test_escaped_keys_are_decoded():
    yaml_finding = _one('env:\n  "\\x41NTHROPIC_API_KEY": x\n')
    assert (yaml_finding.term, yaml_finding.path, yaml_finding.line) == (
        "ANTHROPIC_API_KEY", "env.ANTHROPIC_API_KEY", 2)
    json_finding = _one('{"env": {"\\u0063laude_token": "x"}}', "vars.json")
    assert (json_finding.term, json_finding.path) == ("claude", "env.claude_token")
    assert json_finding.decoded


def test_model_alias_rule_applies_to_decoded_values():
    finding = _one('agent:\n  default_model: "\\x73onnet"\n')
    assert (finding.term, finding.path, finding.match, finding.decoded) == (
        "sonnet", "agent.default_model", "sonnet", True)
    assert _one('{"model": "h\\u0061iku"}', "a.json").term == "haiku"
    # only as the whole value of a `model` key, as in the text rule
    assert _failures('notes: "\\x73onnet"\nmodel: "a \\x73onnet"\n') == []
    # a versioned family name counts anywhere
    assert _one('notes: "\\x73onnet-4"\n').term == "sonnet"


def test_model_alias_on_its_own_line_is_found_without_escapes():
    # the text rule needs key and value on one line; the decoded value does not
    finding = _one("model:\n  sonnet\n")
    assert (finding.path, finding.line, finding.column, finding.decoded) == ("model", 2, 3, True)
    assert fp.format_finding(finding) == (
        "config.yaml:2:3: 'sonnet' (anthropic) in model (decoded value)")


def test_binary_value_is_decoded():
    finding = _one("blob: !!binary YW50aHJvcGlj\n")  # base64 of "anthropic"
    assert (finding.term, finding.path, finding.decoded) == ("anthropic", "blob", True)


def test_alias_is_judged_at_every_key_path_that_receives_it():
    text = 'notes: &n "\\x63laude"\nmodel: *n\n'
    rules = [{"path": "config.yaml", "key": "notes", "reason": "changelog"}]
    findings = fp.scan_document(text, "config.yaml", allowlist=rules)
    assert sorted((f.path, f.allowed) for f in findings) == [("model", False), ("notes", True)]


def test_visible_aliased_value_is_reported_once_unless_excused_only_at_its_anchor():
    text = "notes: &n claude\nmodel: *n\n"
    assert [(f.path, f.decoded) for f in _failures(text)] == [("notes", False)]
    rules = [{"path": "config.yaml", "key": "notes", "reason": "changelog"}]
    findings = fp.scan_document(text, "config.yaml", allowlist=rules)
    assert sorted((f.path, f.line, f.allowed, f.decoded) for f in findings) == [
        ("model", 1, False, True), ("notes", 1, True, False)]


def test_recursive_alias_terminates():
    findings = _failures('a: &a [*a, "\\x63laude"]\n')
    assert [(f.path, f.term) for f in findings] == [("a[1]", "claude")]


# --------------------------------------------------------- text and decoded

def test_no_duplicate_when_the_text_already_shows_it():
    finding = _one('model:\n  default: "claude-3-opus"\n')
    assert (finding.line, finding.column, finding.path, finding.decoded) == (
        2, 13, "model.default", False)
    assert finding.to_dict() == {
        "provider": "anthropic", "term": "claude", "match": "claude", "file": "config.yaml",
        "line": 2, "column": 13, "path": "model.default", "allowed": False, "reason": None}


def test_a_second_hidden_occurrence_in_one_value_is_reported():
    findings = _failures('note: "claude and \\x63laude"\n')
    assert sorted((f.decoded, f.column) for f in findings) == [(False, 8), (True, 7)]


def test_text_findings_outside_values_are_kept():
    findings = _failures('# claude was here\nkey: "\\x61nthropic"\n')
    assert [(f.line, f.term, f.path, f.decoded) for f in findings] == [
        (1, "claude", None, False), (2, "anthropic", "key", True)]


@pytest.mark.parametrize("name,text", [
    ("bad.yaml", 'a: "\\x63laude"\nb: claude\nc: [unclosed\n'),
    ("bad.json", '{"a": "\\u0063laude", "b": "claude"'),
    ("bad.yaml", '\t- x: "\\x63laude" claude'),
    ("bad.yaml", "[" * 5000 + '"\\x63laude", claude' + "]" * 5000),
])
def test_unparsable_document_keeps_text_findings_only(name, text):
    findings = fp.scan_document(text, name)
    assert [(f.term, f.decoded) for f in findings] == [("claude", False)]


def test_json_that_yaml_cannot_read_falls_back_to_json():
    long_key = "k" * 2000  # YAML refuses implicit keys over 1024 characters
    text = '{\n  "' + long_key + '": {"m": "\\u0063laude",\n    "n": "claude"}\n}\n'
    findings = _failures(text, "a.json")
    assert [(f.line, f.path, f.decoded) for f in findings] == [
        (2, f"{long_key}.m", True), (3, f"{long_key}.n", False)]


def test_deeply_nested_document_does_not_raise():
    depth = 900  # composes (libyaml allows 1000 levels); the walk is not recursive
    text = "[" * depth + '"\\x63laude"' + "]" * depth
    (finding,) = _failures(text, "deep.json")
    assert finding.path == "[0]" * depth


def test_bom_does_not_shift_positions():
    finding = _one('\ufeffa: 1\nb: "\\x63laude"\n')
    assert (finding.line, finding.column, finding.path) == (2, 4, "b")


def test_format_selection():
    text = 'provider: "\\x61nthropic"\n'
    assert _failures(text, "notes.md") == []
    assert _failures(text, "notes.md", fmt="yaml")[0].path == "provider"
    assert _failures(text, "CONFIG.YML")[0].decoded
    assert _failures(text, "config.yaml", fmt="text") == []
    assert _failures('{"p": "\\u0063laude"}', "x.json", fmt="auto")[0].path == "p"
    with pytest.raises(ValueError, match="fmt"):
        fp.scan_document(text, "a.yaml", fmt="toml")


def test_allowlist_applies_to_decoded_findings():
    text = 'notes:\n  history: "\\x61nthropic"\nprovider: "\\x61nthropic"\n'
    rules = [{"path": "*.yaml", "key": "notes.*", "term": "anthropic", "reason": "history"}]
    findings = fp.scan_document(text, "config.yaml", allowlist=rules)
    assert [(f.path, f.allowed, f.reason) for f in findings] == [
        ("notes.history", True, "history"), ("provider", False, None)]
    other_term = [{"path": "*.yaml", "key": "notes.*", "term": "claude", "reason": "x"}]
    assert not any(f.allowed for f in fp.scan_document(text, "config.yaml",
                                                      allowlist=other_term))
    declared = fp.scan_document('banned_providers: ["\\x61nthropic"]\n', "all.yml")
    assert [(f.allowed, f.reason) for f in declared] == [
        (True, "declares the ban (banned_providers)")]


def test_custom_banned_terms_and_clean_documents():
    text = 'a: "\\x61cme-llm"\nb: "\\x63laude"\n'
    (finding,) = fp.scan_document(text, "x.yaml", banned=[{"name": "acme", "terms": ["acme-llm"]}])
    assert (finding.provider, finding.path) == ("acme", "a")
    assert fp.scan_document('a: "C:\\\\temp\\n"\nb: "\\u00e9t\\u00e9"\n', "x.yaml") == []


def test_folding_can_form_a_prefix_with_a_space_or_quote():
    # no anchor in the raw text, so only the "foldable" rule keeps the parse
    banned = [{"name": "zeta", "prefixes": ["acme key:", "it's-"]}]
    findings = fp.scan_document("a: acme\n  key:1234\nb: 'it''s-5'\n", "x.yaml", banned=banned)
    assert [(f.path, f.term, f.line) for f in findings] == [
        ("a", "acme key:", 1), ("b", "it's-", 3)]


def test_scan_file_judges_decoded_values(tmp_path):
    (tmp_path / "a.yaml").write_text('provider: "\\x61nthropic"\n')
    (tmp_path / "b.json").write_bytes(b'\xef\xbb\xbf{"p": "\\u0063laude"}')
    (tmp_path / "c.txt").write_text('provider: "\\x61nthropic"\n')
    report = fp.scan_paths([str(tmp_path)])
    assert [(f.file.rsplit("/", 1)[1], f.path, f.decoded) for f in report.failures] == [
        ("a.yaml", "provider", True), ("b.json", "p", True)]
    assert len(report.files) == 3


# ----------------------------------------------------------------- properties

BENIGN = "bcdefghijklmnpqrstvwxyz"  # no a/o/u: no banned term or family name can form
WORD = st.text(alphabet=BENIGN, min_size=3, max_size=8)
SEP = st.sampled_from(["", " ", "-", "/", "_", ":", " - "])
PLACEHOLDER = "zqzqplaceholder"


def _encode_yaml_char(draw, char: str) -> str:
    code = ord(char)
    return draw(st.sampled_from([
        char, f"\\x{code:02x}", f"\\x{code:02X}", f"\\u{code:04x}", f"\\U{code:08X}",
        f"\\u{code + 0xFEE0:04x}",  # the fullwidth form folds back (NFKC)
    ]))


def _encode_json_char(draw, char: str) -> str:
    code = ord(char)
    return draw(st.sampled_from([char, f"\\u{code:04x}", f"\\u{code:04X}"]))


@st.composite
def key_paths(draw):
    return draw(st.lists(st.one_of(WORD, st.integers(0, 2)), min_size=1, max_size=4))


def _build(parts: list, leaf, draw) -> object:
    """Nested data with ``leaf`` at ``parts`` plus benign siblings."""
    if not parts:
        return leaf
    head, child = parts[0], _build(parts[1:], leaf, draw)
    if isinstance(head, int):
        return [draw(WORD) for _ in range(head)] + [child] + draw(st.lists(WORD, max_size=1))
    siblings = {k: draw(WORD) for k in draw(st.lists(WORD, max_size=2)) if k != head}
    return {**siblings, head: child}


@st.composite
def hidden_documents(draw):
    """(text, name, term, expected path): a banned name hidden by escapes."""
    fmt = draw(st.sampled_from(["yaml", "json"]))
    term = draw(st.sampled_from(["anthropic", "claude"]))
    shown = "".join(c.upper() if draw(st.booleans()) else c for c in term)
    encode = _encode_yaml_char if fmt == "yaml" else _encode_json_char
    body = [encode(draw, c) for c in shown]
    if draw(st.booleans()):  # at least one character is really escaped
        index = draw(st.integers(0, len(body) - 1))
        body[index] = f"\\u{ord(shown[index]):04x}"
    in_key = draw(st.booleans())
    if fmt == "yaml" and not in_key and draw(st.booleans()):  # escaped line break
        cut = draw(st.integers(1, len(body) - 1))
        body.insert(cut, "\\\n" + " " * draw(st.integers(0, 8)))
    # what surrounds the name keeps it a word of its own (token boundaries)
    prefix = draw(st.sampled_from(["", "x-", "bx/", "x ", "x:", "x_", "3"]))
    suffix = draw(st.sampled_from(["", "3", "-3", "_x", "/v1", " x3", ".5"]))
    literal = '"' + prefix + "".join(body) + suffix + '"'
    parts = draw(key_paths())
    if in_key:
        data = _build(parts, {PLACEHOLDER: draw(WORD)}, draw)
        decoded = json.loads(literal) if fmt == "json" else yaml.safe_load(literal)
        expected = fp.format_path([*parts, decoded])
    else:
        data = _build(parts, PLACEHOLDER, draw)
        expected = fp.format_path(parts)
    if fmt == "yaml":
        text = yaml.safe_dump(data, default_flow_style=draw(st.booleans()), width=10**6)
        text = text.replace(PLACEHOLDER, literal)
    else:
        text = json.dumps(data, indent=draw(st.sampled_from([None, 1, "\t"])))
        text = text.replace(f'"{PLACEHOLDER}"', literal)
    return text, f"doc.{fmt}", term, expected


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(hidden_documents())
def test_property_hidden_name_is_found_at_its_path(case):
    text, name, term, expected = case
    findings = _failures(text, name)
    hits = [f for f in findings if f.term == term and f.provider == "anthropic"]
    assert [f.path for f in hits] == [expected], (text, [f.to_dict() for f in findings])
    assert all(f.file == name and f.line is not None and f.line >= 1 for f in hits)


@st.composite
def benign_documents(draw):
    fmt = draw(st.sampled_from(["yaml", "json"]))
    encode = _encode_yaml_char if fmt == "yaml" else _encode_json_char
    plain = draw(SEP).join(draw(st.lists(WORD, min_size=1, max_size=4)))
    chars = [encode(draw, c) for c in plain]
    if fmt == "yaml" and draw(st.booleans()):  # an escaped line break anywhere
        chars.insert(draw(st.integers(0, len(chars))), "\\\n  ")
    value = "".join(chars)
    if draw(st.booleans()):
        value += "\\u200b" if fmt == "json" else "\\x09"
    data = _build(draw(key_paths()), PLACEHOLDER, draw)
    if fmt == "yaml":
        text = yaml.safe_dump(data, width=10**6).replace(PLACEHOLDER, f'"{value}"')
    else:
        text = json.dumps(data, indent=1).replace(f'"{PLACEHOLDER}"', f'"{value}"')
    return text, f"doc.{fmt}"


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(benign_documents())
def test_property_benign_documents_have_no_findings(case):
    text, name = case
    assert fp.scan_document(text, name) == [], text


FRAGMENTS = st.sampled_from([
    "clau", "de", "anthro", "pic", "son", "net", "model", "opus", "4", "\\x61", "\\x63",
    "\\u0061", "\\U00000064", "\\\n  ", "\n  ", " ", "''", "'", '"', "\\", ": ", "- ", "x",
    "!!binary ", "YW50aHJvcGlj", "\\u200b", "\u00e9", "&a ", "*a", "[", "]", ", ", "#",
    "laude", "nthropic", "onnet", "pus", "sk-", "ant-", "\\x73", "{", "}", "\\uff43",
    "\\\r\n", "|\n  ", ">\n  ", "\\ud835\\udc1c", "\\\\", "\t", "\u2028",
])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FRAGMENTS, max_size=30).map("".join), st.sampled_from(["a.yaml", "a.json"]))
def test_property_fast_path_is_equivalent_to_always_decoding(text, name):
    """Skipping the decoded pass (no anchor word, no decodable escape) changes nothing."""
    fast = [f.to_dict() for f in fp.scan_document(text, name)]
    with mock.patch.object(fp, "_may_hide", lambda _text, _matcher: True):
        slow = [f.to_dict() for f in fp.scan_document(text, name)]
    assert fast == slow


# ------------------------------------------------------ large and odd shapes

def _reference_key_path(text: str, offset: int) -> str | None:
    """A finding's key path as the scanner read it one finding at a time
    (before findings went down the tree together): the first document, then
    level by level the first child (key, value, item) whose span holds it."""
    def holds(node, at):
        return node.start_mark.index <= at < max(node.end_mark.index, node.start_mark.index + 1)

    base = 1 if text.startswith("\ufeff") else 0
    for document in list(yaml.compose_all(text[base:], Loader=yaml.CSafeLoader)):
        if document is None or not holds(document, offset - base):
            continue
        parts, node, around = [], document, set()
        while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            around.add(id(node))
            if isinstance(node, yaml.MappingNode):
                children = [(child, key.value if isinstance(key, yaml.ScalarNode) else "?", is_key)
                            for key, value in node.value
                            for child, is_key in ((key, True), (value, False))]
            else:
                children = [(item, index, False) for index, item in enumerate(node.value)]
            for child, part, is_key in children:
                if id(child) not in around and holds(child, offset - base):
                    parts.append(part)
                    node = None if is_key else child
                    break
            else:
                break
        return fp.format_path(parts) or None
    return None


def _offset(text: str, finding: fp.Finding) -> int:
    return sum(len(line) + 1 for line in text.split("\n")[:finding.line - 1]) + finding.column - 1


LEAVES = st.sampled_from([
    "claude", "x claude y", "anthropic/claude-3", "harness", "opus", "magnum opus", "Claudette",
    "model", "sonnet-4", 3, None, "api.anthropic.com", "cl\u200baude", "\uff43laude", "",
    "claude\nand claude", "a:b claude",
])
KEYS = st.sampled_from(["a", "model", "claude", "notes", "k1", "banned_providers", "x y",
                        "ANTHROPIC"])
DATA = st.recursive(LEAVES, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)), max_leaves=20)


@st.composite
def documents(draw):
    """YAML or JSON text with findings in keys and values, aliases, comments, empty documents."""
    data = draw(DATA)
    if draw(st.booleans()):  # one object twice: an anchor and an alias
        data = {"first": data, "notes": draw(DATA), "again": data}
    if draw(st.booleans()):
        text = json.dumps(data, indent=draw(st.sampled_from([None, 1])), ensure_ascii=False)
        return text, "doc.json"
    text = yaml.safe_dump(data, default_flow_style=draw(st.sampled_from([False, True, None])),
                          allow_unicode=True, width=draw(st.sampled_from([20, 10**6])))
    if draw(st.booleans()):
        text = draw(st.sampled_from(["---\n", "--- # claude\n", "...\n---\n"])) + "---\n" + text
    if draw(st.booleans()):
        text += draw(st.sampled_from(["# claude\n", "---\nk: '\\x61nthropic'\n",
                                      'x: "\\x63laude"\n']))
    return text, "doc.yaml"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_property_key_paths_are_those_of_one_finding_at_a_time(case):
    text, name = case
    findings = [f for f in fp.scan_document(text, name) if not f.decoded]
    try:
        expected = [_reference_key_path(text, _offset(text, f)) for f in findings]
    except yaml.YAMLError:  # the scanner keeps its text findings, without key paths
        expected = [None] * len(findings)
    assert [f.path for f in findings] == expected, text


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(documents(), st.tuples(st.lists(FRAGMENTS, max_size=30).map("".join),
                                        st.sampled_from(["a.yaml", "a.json"]))))
def test_property_judging_only_nodes_that_hold_an_anchor_changes_nothing(case):
    """The decoded pass skips nodes whose source holds no anchor word, escape, tag
    or alias (_watch_points): judging every node finds the same."""
    text, name = case
    pruned = [f.to_dict() for f in fp.scan_document(text, name)]
    with mock.patch.object(fp, "_watch_points", lambda *_args: None):
        full = [f.to_dict() for f in fp.scan_document(text, name)]
    assert pruned == full


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_property_the_shortcut_changes_no_finding(case):
    text, name = case
    matcher = fp._matcher(None)
    fast = [f.to_dict() for f in fp.scan_document(text, name, banned=matcher)]
    with mock.patch.object(matcher, "_shortcut", None):
        slow = [f.to_dict() for f in fp.scan_document(text, name, banned=matcher)]
    assert fast == slow


def test_many_findings_each_get_their_key_path():
    lines = [f"key_{i}: {'claude-3' if i % 7 == 3 else 'harness'} x" for i in range(5000)]
    text = "top:\n" + "".join(f"  {line}\n" for line in lines) + "after: [a, claude]\n"
    findings = fp.scan_document(text, "many.yaml")
    expected = [(i + 2, len(f"  key_{i}: ") + 1, f"top.key_{i}") for i in range(5000) if i % 7 == 3]
    assert [(f.line, f.column, f.path) for f in findings] == [*expected, (5002, 12, "after[1]")]


def test_findings_on_one_long_json_line_get_key_paths():
    items = {f"k{i}": "harness" for i in range(20000)}
    items.update({"k5": "claude", "k19000": ["x", "anthropic"]})
    text = json.dumps({"entries": items})
    findings = fp.scan_document(text, "long.json")
    assert [(f.line, f.column, f.path) for f in findings] == [
        (1, text.index('"claude"') + 2, "entries.k5"),
        (1, text.index('"anthropic"') + 2, "entries.k19000[1]")]


def test_recursive_alias_with_a_text_finding_terminates():
    # the finding sits inside a sequence whose first item is the sequence itself:
    # one finding at a time, following that item never ended
    text = "a: &a [*a, claude, {b: *a, c: x claude}]\n"

    def hung(_signum, _frame):
        raise AssertionError("no answer within a minute: a loop")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        findings = _failures(text)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [(f.column, f.path) for f in findings] == [
        (text.index("claude") + 1, "a[1]"), (text.rindex("claude") + 1, "a[2].c")]


def test_alias_inside_a_collection_with_nothing_else_is_judged():
    text = 'h: &h "\\x61nthropic"\nlater: [*h]\nmore: {x: *h}\n'
    assert [f.path for f in _failures(text)] == ["h", "later[0]", "more.x"]


def test_alias_budget_counts_aliases_of_clean_values_too():
    # 100,000 aliases followed (of a clean value): the alias after them is not
    text = ('q: &q harness\nlist: [' + ", ".join(["*q"] * 100_000) + ']\n'
            'h: &h "\\x61nthropic"\nlater: *h\n')
    assert [f.path for f in _failures(text)] == ["h"]


def test_decoded_finding_after_empty_documents():
    text = "---\n---\n# nothing\n---\nk: harness\nkey: \"\\x61nthropic\"\n"
    assert [(f.path, f.line, f.decoded) for f in _failures(text)] == [("key", 6, True)]


def test_scan_leaves_the_garbage_collector_as_it_found_it():
    # the scan turns the cyclic GC off while it runs (millions of objects, no cycles)
    assert gc.isenabled()
    assert _failures("a: claude\n")
    assert gc.isenabled()
    gc.disable()
    try:
        assert _failures("a: claude\n")
        assert not gc.isenabled()
    finally:
        gc.enable()
