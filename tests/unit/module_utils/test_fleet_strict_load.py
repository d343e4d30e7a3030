"""fleet.strict_load: every rule in both formats, properties, and one hostile input
through each call site (the CLIs, modules and functions that read operator documents)."""

from __future__ import annotations

import json
import os
import sys
import threading

import pytest
import yaml
from fleet import signing as fs
from fleet import strict_load as sl
from fleet import trust_root as tr
from fleet.config_policy import PolicyError, load_policy
from fleet.overlay import check_text, schema_errors
from fleet.overlay_gate import GatePolicy, RenderedFile, judge
from fleet_cli import overlay_check, provider_scan, trailctl, trustctl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# A message names the file (short here) and quotes at most EXCERPT characters of a
# value and a bounded part of the parser's message: never more than this.
MESSAGE_BOUND = 300
FUTURE = "2099-01-01T00:00:00Z"


def refused(load, data, *args, **kwargs) -> sl.DocumentError:
    with pytest.raises(sl.DocumentError) as info:
        load(data, "doc", *args, **kwargs)
    assert len(str(info.value)) <= MESSAGE_BOUND, str(info.value)
    assert str(info.value).startswith("doc: ")
    return info.value


def bomb(depth: int, width: int = 9) -> str:
    """The billion-laughs document: each level lists the one before ``width`` times."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]"
              for i in range(1, depth + 1)]
    return "\n".join(lines) + "\n"


def nested(depth: int, fmt: str) -> str:
    if fmt == "json":
        return "[" * depth + "1" + "]" * depth
    return "".join("  " * i + "- \n" for i in range(depth - 1)) + "  " * (depth - 1) + "- 1\n"


# --------------------------------------------------------------------------
# Duplicate keys: refused, naming both lines


def test_yaml_duplicate_key_names_both_lines():
    exc = refused(sl.load_yaml, "a: 1\nb:\n  c: 2\n  d: 3\n  c: 4\n")
    assert str(exc) == "doc: invalid YAML: key 'c' at line 5 repeats line 3"
    assert (exc.line, exc.column, exc.reason) == (5, 3, "refused")


def test_yaml_duplicate_keys_compare_values_not_spelling():
    exc = refused(sl.load_yaml, "1: a\n0x1: b\n")
    assert "key '1' at line 2 repeats line 1" in str(exc)
    exc = refused(sl.load_yaml, "x: 1\n\"x\": 2\n")
    assert "key 'x' at line 2 repeats line 1" in str(exc)


def test_yaml_merge_keys_may_be_overridden():
    data = sl.load_yaml("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  x: 3\n", "doc")
    assert data["derived"] == {"x": 3, "y": 2}


def test_json_duplicate_key_names_both_lines():
    exc = refused(sl.load_json, '{"a": 1,\n "b": {"c": 1,\n  "c": 2}}')
    assert str(exc) == "doc: invalid JSON: key 'c' at line 3 repeats line 2"
    assert (exc.line, exc.column) == (3, 3)


def test_json_duplicate_keys_compare_decoded_text():
    exc = refused(sl.load_json, '{"a": 1,\n"\\u0061": 2}')
    assert "key 'a' at line 2 repeats line 1" in str(exc)


def test_same_key_in_sibling_objects_is_fine():
    assert sl.load_json('[{"a": 1}, {"a": 2}]', "doc") == [{"a": 1}, {"a": 2}]
    assert sl.load_yaml("- {a: 1}\n- {a: 2}\n", "doc") == [{"a": 1}, {"a": 2}]


def test_a_long_duplicate_key_is_quoted_as_a_short_escaped_excerpt():
    key = "\x1b[2J" + "k" * 10_000
    quoted = json.dumps(key)  # "\u001b[2Jkkk...": valid in both formats
    for load, text in ((sl.load_yaml, f"? {quoted}\n: 1\n? {quoted}\n: 2\n"),
                       (sl.load_json, quoted.join(["{", ": 1, ", ": 2}"]))):
        message = str(refused(load, text))
        assert "\x1b" not in message and "\\x1b[2J" in message
        assert "k" * (sl.EXCERPT + 1) not in message


# --------------------------------------------------------------------------
# Aliases: bounded while composing, before anything is expanded


@pytest.mark.parametrize("depth", range(5, 13))
def test_alias_bombs_are_refused_before_expansion(depth):
    exc = refused(sl.load_yaml, bomb(depth))
    assert "an alias bomb?" in str(exc) and exc.line is not None


def test_a_small_anchor_reuse_is_fine():
    data = sl.load_yaml(bomb(2), "doc")
    assert len(data["a2"]) == 9 and data["a2"][0][0] == ["lol"] * 9


def test_alias_count_is_bounded():
    text = "a: &a x\nb: [" + ", ".join(["*a"] * sl.MAX_ALIASES) + "]\n"
    assert len(sl.load_yaml(text, "doc")["b"]) == sl.MAX_ALIASES
    exc = refused(sl.load_yaml, text.replace("]", ", *a]"))
    assert f"more than {sl.MAX_ALIASES} aliases" in str(exc)


def test_aliases_of_a_long_scalar_count_its_length():
    text = "a: &a '" + "x" * 100_000 + "'\nb: [" + ", ".join(["*a"] * 20) + "]\n"
    assert "aliases expand to more than" in str(refused(sl.load_yaml, text))


@pytest.mark.parametrize("text", [
    "a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a\n  b:\n    - c: *a\n",
])
def test_recursive_anchors_are_refused(text):
    assert "inside its own anchor" in str(refused(sl.load_yaml, text))


# --------------------------------------------------------------------------
# Nesting depth


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_nesting_up_to_the_cap_is_fine_and_one_more_is_refused(fmt):
    load = sl.load_json if fmt == "json" else sl.load_yaml
    value = load(nested(sl.MAX_DEPTH, fmt), "doc")
    for _level in range(sl.MAX_DEPTH):
        (value,) = value
    assert value == 1
    exc = refused(load, nested(sl.MAX_DEPTH + 1, fmt))
    assert f"nested deeper than {sl.MAX_DEPTH} levels" in str(exc)


@pytest.mark.parametrize(("load", "text"), [
    (sl.load_json, "[" * 100_000), (sl.load_json, "[" * 5000 + "]" * 5000),
    (sl.load_json, '{"a":' * 3000 + "1" + "}" * 3000),
    (sl.load_yaml, "[" * 100_000), (sl.load_yaml, "{a: " * 3000 + "1" + "}" * 3000),
])
def test_very_deep_documents_give_a_document_error_not_a_recursion_error(load, text):
    exc = refused(load, text)
    assert "nest" in str(exc)


def test_json_depth_names_the_line_and_column():
    exc = refused(sl.load_json, '{"a":\n' + "[" * 70 + "]" * 70 + "}")
    assert exc.line == 2 and exc.column == sl.MAX_DEPTH  # the 64th bracket opens level 65


# --------------------------------------------------------------------------
# Numbers and strings (JSON), integers (both)


@pytest.mark.parametrize(("text", "problem"), [
    ("[1,\n NaN]", "line 2 column 2: NaN is not a JSON number"),
    ('{"a": Infinity}', "line 1 column 7: Infinity is not a JSON number"),
    ("[-Infinity]", "-Infinity is not a JSON number"),
    ("[1e999]", "number '1e999' is out of range"),
    ("[" + "9" * 5000 + "]", f"integer of 5000 digits (at most {sl.MAX_INT_DIGITS})"),
    ("[-" + "9" * 41 + "]", "integer of 41 digits"),
])
def test_json_numbers_refused(text, problem):
    assert problem in str(refused(sl.load_json, text))


def test_json_integers_up_to_the_cap_and_finite_floats_are_fine():
    big = int("9" * sl.MAX_INT_DIGITS)
    assert sl.load_json(f"[{big}, -{big}, 1.5, 1e300]", "doc") == [big, -big, 1.5, 1e300]


def test_json_floats_can_be_refused():
    assert "number '1.0' is not an integer" in str(refused(sl.load_json, '{"v": 1.0}',
                                                           floats=False))
    assert sl.load_json('{"v": 1}', "doc", floats=False) == {"v": 1}


@pytest.mark.parametrize("text", ["a: " + "9" * 5000, "a: 0x" + "f" * 5000, "a: -" + "1" * 45])
def test_yaml_huge_integers_refused(text):
    assert f"integer of more than {sl.MAX_INT_DIGITS} digits" in str(refused(sl.load_yaml, text))


@pytest.mark.parametrize("text", ['["\\ud800"]', '{"\\udc00": 1}', '{"a": ["x", "\\udfff"]}'])
def test_json_lone_surrogates_refused(text):
    assert "lone surrogate" in str(refused(sl.load_json, text))


def test_json_surrogate_pairs_are_fine_and_lone_ones_may_be_kept():
    assert sl.load_json('["\\ud83d\\ude00"]', "doc") == ["\U0001f600"]
    assert sl.load_json('["\\ud800"]', "doc", lone_surrogates=True) == ["\ud800"]


def test_lone_surrogate_message_names_the_path():
    exc = refused(sl.load_json, '{"a": [0, {"b": "\\ud800"}]}')
    assert "at $['a'][1]['b']" in str(exc)


# --------------------------------------------------------------------------
# Encoding and size


@pytest.mark.parametrize("load", [sl.load_json, sl.load_yaml])
def test_not_utf8_names_the_byte_offset(load):
    exc = refused(load, b'{"a": "\xc3\xa9\xff"}')
    assert str(exc) == "doc: not UTF-8 (byte offset 9)" and exc.offset == 9
    exc = refused(load, '{"a": "é\udcff"}')  # a str that no UTF-8 file can hold
    assert "byte offset 9" in str(exc)


def test_not_utf8_names_the_kind_when_given():
    assert "key list is not UTF-8" in str(refused(sl.load_json, b"\xff", "key_list"))


@pytest.mark.parametrize("kind", sorted(sl.KINDS))
def test_every_kind_has_a_cap_and_text_over_it_is_refused_unparsed(kind):
    cap = sl.KINDS[kind].limit
    assert 1 << 16 <= cap <= 4 << 20
    exc = refused(sl.load_yaml, "[" * (cap + 1), kind)  # too deep too, but size comes first
    assert exc.reason == "size" and f"at most {cap} bytes" in str(exc)
    assert sl.load_yaml("a: 1\n", "doc", kind) == {"a": 1}


def test_unknown_kind_and_format_are_programming_errors():
    with pytest.raises(ValueError, match="unknown document kind"):
        sl.load_json("1", "doc", "nope")
    with pytest.raises(ValueError, match="unknown document format"):
        sl.load("1", "toml", "doc")


def test_read_document_checks_the_size_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.sig"
    with open(path, "wb") as handle:
        handle.truncate(sl.KINDS["sig"].limit + 1)  # sparse: nothing to read anyway
    monkeypatch.setattr(sl, "read_fd", lambda *a: pytest.fail("read an oversized file"))
    with pytest.raises(sl.DocumentError, match=r"signature file is too large \(1048577 bytes"):
        sl.read_document(str(path), "sig")


def test_read_document_refuses_a_file_that_grows_past_the_cap(tmp_path, monkeypatch):
    path = tmp_path / "keys.json"
    path.write_bytes(b"[" + b" " * sl.KINDS["key_list"].limit + b"]")
    real_fstat = os.fstat

    def fstat(fd):  # what fstat said just before the file grew
        info = list(real_fstat(fd))
        info[6] = 2
        return os.stat_result(info)

    monkeypatch.setattr(sl.os, "fstat", fstat)
    with pytest.raises(sl.DocumentError, match=r"key list is too large \(it grew while read"):
        sl.read_document(str(path), "key_list")


def test_read_document_refuses_a_fifo_without_waiting(tmp_path):
    fifo = tmp_path / "keys.yml"
    os.mkfifo(fifo)
    done = threading.Event()
    result = []

    def read():
        try:
            sl.load_file(str(fifo), "key_list")
        except sl.DocumentError as exc:
            result.append(exc)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(60), "reading a FIFO blocked"
    (exc,) = result
    assert exc.reason == "read" and "not a regular file (a FIFO)" in str(exc)


def test_load_file_picks_the_format_and_reports_a_missing_file(tmp_path):
    (tmp_path / "a.json").write_text('{"a": 1}')
    (tmp_path / "a.yml").write_text("a: [1]\n")
    assert sl.load_file(str(tmp_path / "a.json"), "key_list") == {"a": 1}
    assert sl.load_file(str(tmp_path / "a.yml"), "key_list") == {"a": [1]}
    with pytest.raises(sl.DocumentError) as info:
        sl.load_file(str(tmp_path / "nope.json"), "key_list")
    assert info.value.errno == 2 and "cannot read key list" in str(info.value)


def test_file_names_are_shown_escaped():
    with pytest.raises(sl.DocumentError) as info:
        sl.load_json("[", "evil\x1b]0;title\x07.json")
    assert str(info.value).startswith("evil\\x1b]0;title\\x07.json: invalid JSON")


def test_syntax_errors_keep_their_place_and_reason():
    exc = refused(sl.load_json, '{"a": }')
    assert exc.reason == "syntax" and str(exc).startswith("doc: invalid JSON at line 1 column 7")
    exc = refused(sl.load_yaml, "a: b\n---\nc: d\n")
    assert exc.reason == "syntax" and "expected a single document" in str(exc)
    assert "constructor" in str(refused(sl.load_yaml, "a: !!python/object:os.system x\n"))


@pytest.fixture
def pure_python_yaml(monkeypatch):
    """The loader built without libyaml (PyYAML's own scanner and parser), as on a host
    whose PyYAML has no C extension."""
    monkeypatch.setitem(sys.modules, "yaml._yaml", None)
    monkeypatch.setattr(sl, "_LOADER", None)
    yield
    sl._LOADER = None  # rebuilt with libyaml on next use


@pytest.mark.parametrize(("text", "problem"), [
    (bomb(9), "an alias bomb?"), ("a: &a [*a]\n", "inside its own anchor"),
    ("a: 1\nb: 2\na: 3\n", "key 'a' at line 3 repeats line 1"),
    (nested(sl.MAX_DEPTH + 1, "yaml"), "nested deeper than"), ("[" * 100_000, "nest"),
    ("a: " + "9" * 50, "integer of more than"), ("a: b\n\x01", "not allowed"),
])
def test_the_rules_hold_without_libyaml(pure_python_yaml, text, problem):
    assert problem in str(refused(sl.load_yaml, text))
    assert "CParser" not in repr(type(sl._LOADER).__mro__)
    assert sl.load_yaml("a: [1, {b: c}]\n", "doc") == {"a": [1, {"b": "c"}]}


# --------------------------------------------------------------------------
# Properties: anything in, a value or a DocumentError out, a bounded message

YAMLISH = st.text(alphabet=[*"[]{}:,-&*!|>?'\"#\\ \n\tab01xyz.e+", "\x00", "é", "\ud800"],
                  max_size=200)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300), YAMLISH))
def test_any_input_gives_a_value_or_a_document_error(data):
    for load in (sl.load_json, sl.load_yaml):
        try:
            load(data, "doc.yaml", "overlay")
        except sl.DocumentError as exc:
            assert len(str(exc)) <= MESSAGE_BOUND, str(exc)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_valid_json_reads_back_unchanged_in_both_formats(value):
    text = json.dumps(value)
    assert sl.load_json(text, "doc") == value
    assert sl.load_json(text.encode(), "doc") == value
    assert sl.load_yaml(yaml.safe_dump(value), "doc") == value


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1,
                        max_size=5), min_size=2, max_size=6, unique=True),
       st.data())
def test_a_repeated_key_anywhere_is_found(keys, data):
    repeat = data.draw(st.sampled_from(keys))
    pairs = [(k, i) for i, k in enumerate(keys)] + [(repeat, -1)]
    text = "{\n" + ",\n".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "\n}"
    exc = refused(sl.load_json, text)
    assert f"at line {len(pairs) + 1} repeats line {keys.index(repeat) + 2}" in str(exc)
    block = "".join(f"{json.dumps(k, ensure_ascii=False)}: {v}\n" for k, v in pairs)
    exc = refused(sl.load_yaml, block)
    assert f"at line {len(pairs)} repeats line {keys.index(repeat) + 1}" in str(exc)


# --------------------------------------------------------------------------
# Call sites: one hostile input each, through the real face


def _run(main, argv, capsys):
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return rc, captured.out, captured.err


def test_trailctl_compile_refuses_a_deep_worklog(tmp_path, capsys):
    for name, text in (("deep.json", "[" * 100_000), ("deep.yaml", nested(200, "yaml"))):
        path = tmp_path / name
        path.write_text(text)
        rc, _out, err = _run(trailctl.main, ["compile", path, "-o", tmp_path / "x.trail"], capsys)
        assert rc == 1 and f"nested deeper than {sl.MAX_DEPTH} levels" in err
        assert not (tmp_path / "x.trail").exists()


def test_trailctl_compile_refuses_a_huge_integer(tmp_path, capsys):
    path = tmp_path / "log.json"
    path.write_text('[{"op": "TRAIL_BEGIN", "agent": "a", "trail_id": "t", "ts": '
                    + "9" * 5000 + '}, {"op": "TRAIL_END", "status": 0}]')
    rc, _out, err = _run(trailctl.main, ["compile", path, "-o", tmp_path / "x.trail"], capsys)
    assert rc == 1 and "integer of 5000 digits" in err and len(err) < 1000


def test_trailctl_compile_refuses_a_repeated_key_in_yaml(tmp_path, capsys):
    path = tmp_path / "log.yaml"
    path.write_text("- op: TRAIL_BEGIN\n  agent: a\n  trail_id: t\n  ts: 1\n  agent: b\n")
    rc, _out, err = _run(trailctl.main, ["compile", path, "-o", tmp_path / "x.trail"], capsys)
    assert rc == 1 and "key 'agent' at line 5 repeats line 2" in err


def _config_with(tmp_path, old: str, new: str, prefix: str = "") -> str:
    text = (overlay_check.default_schema().parents[1] / "overlay" / "config.yaml").read_text()
    assert old in text
    path = tmp_path / "config.yaml"
    path.write_text(prefix + text.replace("---\n", "", 1).replace(old, new))
    return str(path)


def test_overlay_check_refuses_an_alias_bomb_in_a_typed_field(tmp_path, capsys):
    anchors = "".join(f"  {line}\n" for line in bomb(9).splitlines())
    path = _config_with(tmp_path, "max_turns: 60", "max_turns: *a9", "x-anchors:\n" + anchors)
    rc, out, _err = _run(overlay_check.main, ["--no-policy", path], capsys)
    assert rc == 1
    assert out.startswith(f"{path}: invalid YAML at line ") and "alias bomb?" in out
    assert len(out) < 1000


def test_overlay_check_refuses_a_duplicate_key(tmp_path, capsys):
    path = _config_with(tmp_path, "  max_turns: 60\n", "  max_turns: -5\n  max_turns: 60\n")
    rc, out, _err = _run(overlay_check.main, ["--no-policy", path], capsys)
    assert rc == 1 and "invalid YAML: key 'max_turns' at line " in out and "repeats line" in out


def test_schema_messages_quote_an_excerpt_of_the_value():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    errors = schema_errors({"n": [["lol" * 50] * 50] * 50}, schema, "config.yaml")
    (line,) = errors
    assert line.startswith("config.yaml: $.n: [[") and line.endswith("is not of type 'integer'")
    assert len(line) <= 250


def test_the_gate_refuses_an_oversized_file_unparsed():
    huge = RenderedFile(dest="/x/SOUL.md", content="claude " * 200_000, fmt="yaml")
    (error,) = judge([huge], GatePolicy(banned=["anthropic"]))
    assert error.startswith("/x/SOUL.md: overlay file is too large (1400000 bytes")


def test_overlay_json_and_yaml_checks_are_strict():
    assert "key 'a' at line 1 repeats" in check_text('{"a": 1, "a": 2}', "json", "c.json")[0]
    assert "NaN" in check_text('{"a": NaN}', "json", "c.json")[0]
    assert "recursive" in check_text("a: &a [*a]\n", "yaml", "c.yml")[0]


def test_trustctl_refuses_a_key_list_with_a_repeated_key(tmp_path, capsys):
    keys = [fs.public_key_hex(fs.generate_secret_key()) for _ in range(2)]
    trusted = tmp_path / "trusted.yml"
    trusted.write_text(f"- name: alice\n  pubkey: {keys[0]}\n  pubkey: {keys[1]}\n")
    rc, _out, err = _run(trustctl.main, ["init-key-list", "--trusted-keys", trusted,
                                         "--expires", FUTURE, "-o", tmp_path / "kl.json"],
                         capsys)
    assert rc == 1 and "key 'pubkey' at line 3 repeats line 2" in err
    assert not (tmp_path / "kl.json").exists()


def test_a_2mb_sig_file_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    artifact = tmp_path / "a.trail"
    artifact.write_bytes(b"x")
    event = json.dumps({"id": "0" * 64, "pubkey": "1" * 64, "sig": "2" * 128})
    (tmp_path / "a.trail.sig").write_text("[" + ",\n".join([event] * 8000) + "]")
    assert (tmp_path / "a.trail.sig").stat().st_size > 2_000_000
    keys = tmp_path / "keys.yml"
    keys.write_text(f"- {{name: a, pubkey: {fs.public_key_hex(fs.generate_secret_key())}}}\n")
    real_read_fd = sl.read_fd

    def read_fd(fd, path, limit):
        assert not path.endswith(".sig"), "read an oversized .sig"
        return real_read_fd(fd, path, limit)

    monkeypatch.setattr(sl, "read_fd", read_fd)
    rc, out, _err = _run(trailctl.main, ["verify-sig", "--trusted-keys", keys, artifact],
                         capsys)
    assert rc == 1
    assert out.startswith(f"{artifact}: REJECTED: {artifact}.sig: signature file is too large")
    assert len(out) < 500


def test_a_sig_file_with_a_repeated_field_is_refused(tmp_path):
    path = tmp_path / "a.sig"
    path.write_text('[{"id": "x",\n  "pubkey": "a",\n  "pubkey": "b"}]')
    with pytest.raises(fs.SignatureError, match="key 'pubkey' at line 3 repeats line 2"):
        fs.read_sig_file(str(path))


def test_trust_state_with_a_negative_or_odd_version_is_refused(tmp_path):
    path = tmp_path / "accepted.json"
    for version in (-5, 0, True, "3", 2**60):
        path.write_text(json.dumps({"type": tr.STATE_TYPE, "version": version,
                                    "sha256": "0" * 64}))
        with pytest.raises(tr.TrustError, match=r"not a valid \S+ record"):
            tr.read_state(str(path))
    path.write_text(f'{{"type": "{tr.STATE_TYPE}", "version": 1.5, "sha256": "{"0" * 64}"}}')
    with pytest.raises(tr.TrustError, match="not an integer"):
        tr.read_state(str(path))


def test_rollback_check_refuses_a_state_with_a_negative_version():
    roots = [fs.generate_secret_key() for _ in range(2)]
    root = tr.parse_document(tr.make_root([{"name": f"r{i}", "pubkey": fs.public_key_hex(k)}
                                           for i, k in enumerate(roots)], 1, FUTURE).raw,
                             "root.json")
    key_list = tr.parse_document(tr.make_key_list(
        [{"name": "a", "pubkey": fs.public_key_hex(roots[0])}], [], 1, FUTURE).raw, "kl.json")
    events = [fs.sign_artifact(key_list.raw, roots[0], media_type=tr.MEDIA_TYPE)]
    assert tr.verify_key_list(root, key_list, events, None).changed
    state = {"type": tr.STATE_TYPE, "version": -1, "sha256": "0" * 64}
    with pytest.raises(tr.TrustError, match="accepted-version record is damaged"):
        tr.verify_key_list(root, key_list, events, state)


def test_trust_documents_are_strict_and_capped():
    with pytest.raises(tr.TrustError, match=r"^doc: invalid JSON: key 'type' at line 1"):
        tr.parse_document(b'{"type":"a","type":"b"}', "doc")
    with pytest.raises(tr.TrustError, match="trust document is too large"):
        tr.parse_document(b" " * (sl.KINDS["trust"].limit + 1), "doc")


def test_config_policy_file_is_strict(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("version: 1\nendpoints: &e {keys: [base_url]}\nother: *e\nendpoints: {}\n")
    with pytest.raises(PolicyError, match="key 'endpoints' at line 4 repeats line 2"):
        load_policy(str(path))


def test_provider_scan_config_is_strict(tmp_path, capsys):
    config = tmp_path / "scan.yml"
    config.write_text("banned: [openai]\nallowlist: []\nbanned: []\n")
    rc, _out, err = _run(provider_scan.main, ["--config", config, str(tmp_path)], capsys)
    assert rc == 2 and "key 'banned' at line 3 repeats line 1" in err
    config.write_text(bomb(8))
    rc, _out, err = _run(provider_scan.main, ["--config", config, str(tmp_path)], capsys)
    assert rc == 2 and "alias bomb" in err


def test_cron_definitions_filter_is_strict():
    from ansible.errors import AnsibleFilterError
    from strict_yaml import strict_yaml  # filter_plugins/ (pytest's pythonpath)
    text = "jobs:\n  - name: a\n    command: /bin/true\n    command: rm -rf /\n"
    with pytest.raises(AnsibleFilterError, match=r"jobs\.yml: invalid YAML: key 'command' at "
                                                 r"line 4 repeats line 3"):
        strict_yaml(text, "jobs.yml", "cron")
    with pytest.raises(AnsibleFilterError, match="alias bomb"):
        strict_yaml(bomb(10), "jobs.yml", "cron")
    with pytest.raises(AnsibleFilterError, match="cron declarations file is too large"):
        strict_yaml("#" * (sl.KINDS["cron"].limit + 1), "jobs.yml", "cron")
    assert strict_yaml("jobs: []\n", "jobs.yml", "cron") == {"jobs": []}
