"""Hostile input files: FIFOs, devices, directories, oversized files, unreadable trees.

Reading a FIFO must fail at once, never wait for a writer. Each FIFO test runs
the read in a daemon thread and waits for its *result* (bounded, so a
regression fails instead of hanging the suite; the FIFO is then opened for
writing once, which releases the stuck reader).
"""

from __future__ import annotations

import os
import queue
import socket
import stat
import threading

import pytest
from fleet import files
from fleet import providers as fp

BOUND = 60  # seconds a regression may hang before it fails; a pass returns at once


def outcome(func, *args, fifo=None, **kwargs):
    """``func(*args)``'s result or exception, or fail when it blocks."""
    results: queue.Queue = queue.Queue()

    def target():
        try:
            results.put(("ok", func(*args, **kwargs)))
        except BaseException as exc:  # handed to the test
            results.put(("raised", exc))

    threading.Thread(target=target, daemon=True).start()
    try:
        return results.get(timeout=BOUND)
    except queue.Empty:
        if fifo is not None:  # release the blocked reader: a writer appears and leaves
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"{getattr(func, '__name__', func)} blocked on {args}")


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return str(path)


# -- open_regular / read_regular ---------------------------------------------

@pytest.mark.parametrize("reader", [
    files.read_regular, files.open_regular, lambda p: files.read_text(p, "trail"),
    lambda p: files.read_private_file(p)])
def test_a_fifo_is_refused_at_once(fifo, reader):
    os.chmod(fifo, 0o600)
    kind, exc = outcome(reader, fifo, fifo=fifo)
    assert kind == "raised"
    assert "not a regular file (a FIFO)" in str(exc)
    assert fifo in str(exc) or isinstance(exc, files.NotRegularFileError)


def test_the_error_names_the_kind_for_callers_that_add_the_path(fifo):
    with pytest.raises(files.NotRegularFileError) as caught:
        files.read_regular(fifo)
    assert isinstance(caught.value, OSError)
    assert caught.value.strerror == "not a regular file (a FIFO)"
    assert caught.value.filename == fifo
    assert caught.value.kind == "a FIFO"


def test_read_text_message_names_the_file_and_what_it_is(fifo):
    with pytest.raises(files.ReadError, match=f"^{fifo}: cannot read key list: not a "
                                              r"regular file \(a FIFO\)$"):
        files.read_text(fifo, "key list")


@pytest.mark.parametrize(("path", "kind"), [("/dev/null", "a character device"),
                                            ("/", "a directory")])
def test_devices_and_directories_are_refused(path, kind):
    with pytest.raises(files.NotRegularFileError, match=f"not a regular file \\({kind}\\)"):
        files.read_regular(path)


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        with pytest.raises(files.NotRegularFileError, match=r"\(a socket\)"):
            files.read_regular(str(path))


def test_a_symlink_to_a_fifo_is_refused_and_one_to_a_file_is_read(tmp_path, fifo):
    (tmp_path / "to-fifo").symlink_to(fifo)
    kind, exc = outcome(files.read_regular, str(tmp_path / "to-fifo"), fifo=fifo)
    assert kind == "raised" and "(a FIFO)" in str(exc)
    (tmp_path / "real").write_bytes(b"data")
    (tmp_path / "to-real").symlink_to(tmp_path / "real")
    assert files.read_regular(str(tmp_path / "to-real")) == b"data"
    with pytest.raises(files.NotRegularFileError, match=r"\(a symbolic link\)"):
        files.read_regular(str(tmp_path / "to-real"), follow_symlinks=False)


def test_a_fifo_swapped_in_after_the_stat_is_refused_by_fstat(tmp_path, monkeypatch, fifo):
    """The race: stat sees a regular file, the open gets a FIFO; O_NONBLOCK + fstat hold."""
    regular = tmp_path / "regular"
    regular.write_bytes(b"x")
    real_stat = os.stat
    monkeypatch.setattr(files.os, "stat",
                        lambda path, **kw: real_stat(str(regular), **kw))
    kind, exc = outcome(files.read_regular, fifo, fifo=fifo)
    assert kind == "raised" and "not a regular file (a FIFO)" in str(exc)


def test_the_fd_is_blocking_again_and_the_caller_owns_it(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    fd = files.open_regular(str(path))
    try:
        assert os.get_blocking(fd)
        assert os.read(fd, 10) == b"abc"
    finally:
        os.close(fd)


def test_limit_refuses_a_bigger_file_after_limit_plus_one_bytes(tmp_path, monkeypatch):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 1000)
    assert files.read_regular(str(path), 1000) == b"x" * 1000
    read = []
    real_read = os.read
    monkeypatch.setattr(files.os, "read", lambda fd, n: read.append(n) or real_read(fd, n))
    with pytest.raises(files.FileTooLargeError) as caught:
        files.read_regular(str(path), 10)
    assert sum(read) <= 11
    assert caught.value.strerror == "file is over the 10-byte limit"
    with pytest.raises(files.ReadError, match=r"big: cannot read policy: file is over the "
                                              r"10-byte limit$"):
        files.read_text(str(path), "policy", limit=10)


def test_read_text_keeps_universal_newlines(tmp_path):
    path = tmp_path / "crlf.yml"
    path.write_bytes(b"a: 1\r\nb: 2\rc: 3\n")
    assert files.read_text(str(path), "x") == "a: 1\nb: 2\nc: 3\n"


# -- read_private_file: checks on the opened fd, before any read ------------

def test_private_file_checks_run_on_the_fd_before_reading(tmp_path, monkeypatch):
    key = tmp_path / "key"
    key.write_bytes(b"do-not-read")
    key.chmod(0o644)
    reads = []
    monkeypatch.setattr(files.os, "read", lambda fd, n: reads.append(fd) or b"")
    with pytest.raises(PermissionError, match="chmod 600"):
        files.read_private_file(str(key))
    assert reads == []


def test_private_file_is_bounded(tmp_path):
    key = tmp_path / "key"
    key.write_bytes(b"k" * 100)
    key.chmod(0o600)
    with pytest.raises(files.FileTooLargeError):
        files.read_private_file(str(key), limit=64)
    assert files.read_private_file(str(key)) == b"k" * 100


# -- the provider scan's walk ------------------------------------------------

def test_walk_skips_special_files_unopened_and_reports_them(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    os.mkfifo(tmp_path / "a" / "pipe")
    (tmp_path / "a" / "to-pipe").symlink_to(tmp_path / "a" / "pipe")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.txt").write_text("uses claude\n")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "a" / "sock"))
        opened = []
        real_open = files.open_regular
        monkeypatch.setattr(files, "open_regular",
                            lambda path, **kw: opened.append(path) or real_open(path, **kw))
        _kind, report = outcome(fp.scan_paths, [str(tmp_path)],
                                fifo=str(tmp_path / "a" / "pipe"))
    assert report.errors == []
    assert [f.file for f in report.failures] == [str(tmp_path / "b" / "x.txt")]
    assert report.special == [f"{tmp_path}/a/pipe: not a regular file (a FIFO)",
                              f"{tmp_path}/a/sock: not a regular file (a socket)",
                              f"{tmp_path}/a/to-pipe: not a regular file (a FIFO)"]
    assert sorted(report.skipped) == sorted(p.partition(":")[0] for p in report.special)
    assert report.to_dict()["scanned"]["special"] == report.special


def test_walk_goes_on_past_a_directory_it_cannot_list(tmp_path, monkeypatch):
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.txt").write_text(f"{name}: see anthropic\n")
    real_scandir = os.scandir

    def scandir(path):
        if os.path.basename(path) == "b":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(fp.os, "scandir", scandir)
    report = fp.scan_paths([str(tmp_path)])
    assert report.errors == [f"{tmp_path / 'b'}: cannot read directory: Permission denied"]
    assert [f.file for f in report.failures] == [str(tmp_path / "a" / "f.txt"),
                                                 str(tmp_path / "c" / "f.txt")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists a mode-000 directory anyway")
def test_walk_goes_on_past_an_unreadable_directory(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.txt").write_text("claude\n")
    (tmp_path / "a").chmod(0)
    try:
        report = fp.scan_paths([str(tmp_path)])
    finally:
        (tmp_path / "a").chmod(stat.S_IRWXU)
    assert report.errors == [f"{tmp_path / 'a'}: cannot read directory: Permission denied"]
    assert [f.file for f in report.failures] == [str(tmp_path / "b" / "f.txt")]


def test_walk_order_is_files_first_then_sorted_subdirectories(tmp_path):
    for rel in ("z.txt", "a/y.txt", "a/b/x.txt", "c/w.txt", ".git/v.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("claude\n")
    report = fp.scan_paths([str(tmp_path)])
    assert [os.path.relpath(f, tmp_path) for f in report.files] == [
        "z.txt", "a/y.txt", "a/b/x.txt", "c/w.txt"]


def test_a_fifo_given_by_name_is_an_error_not_a_hang(fifo):
    kind, report = outcome(fp.scan_paths, [fifo], fifo=fifo)
    assert kind == "ok"
    assert report.errors == [f"{fifo}: not a regular file (a FIFO)"]
