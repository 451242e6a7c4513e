import functools
import hashlib
import http.server
import io
import tarfile
import threading
import zipfile

import pytest

from benchbench.data.download import RemoteFile, data_dirs, fetch
from benchbench.errors import BenchError

PAYLOAD = b"hello, verified world\n" * 1000
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
UNREACHABLE = "http://127.0.0.1:1/nothing.txt"  # port 1 on loopback: connection refused, no network used


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 (a free port) serving a temp folder; yields (folder, base URL, hits)."""
    root = tmp_path / "served"
    root.mkdir()
    hits: list[str] = []

    class Handler(_QuietHandler):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """An empty cache (via XDG_CACHE_HOME) and no BENCH_DATA_DIR; returns the cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    return tmp_path / "xdg" / "benchbench"


def _leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_data_dirs_are_bench_data_dir_then_cache(tmp_path, monkeypatch, dirs):
    assert data_dirs() == [dirs]
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "mine"))
    assert data_dirs() == [tmp_path / "mine", dirs]


def test_download_into_cache_then_reuse_without_network(server, dirs):
    root, base, hits = server
    (root / "a.txt").write_bytes(PAYLOAD)
    remote = RemoteFile("set/a.txt", (f"{base}/a.txt",), DIGEST, len(PAYLOAD))
    path = fetch(remote)
    assert path == dirs / "set" / "a.txt" and path.read_bytes() == PAYLOAD
    assert _leftovers(dirs) == ["a.txt"]  # no temporary files left next to it
    # Second fetch: found in the cache, verified, no request made (the URL is now unreachable anyway).
    assert fetch(RemoteFile("set/a.txt", (UNREACHABLE,), DIGEST)) == path
    assert hits == ["/a.txt"]


def test_later_urls_are_tried_when_earlier_ones_fail(server, dirs):
    root, base, _ = server
    (root / "a.txt").write_bytes(PAYLOAD)
    remote = RemoteFile("a.txt", (UNREACHABLE, f"{base}/missing.txt", f"{base}/a.txt"), DIGEST)
    assert fetch(remote).read_bytes() == PAYLOAD


def test_downloaded_checksum_mismatch_names_both_digests_and_saves_nothing(server, dirs):
    root, base, _ = server
    (root / "a.txt").write_bytes(PAYLOAD + b"tampered")
    actual = hashlib.sha256(PAYLOAD + b"tampered").hexdigest()
    with pytest.raises(BenchError) as err:
        fetch(RemoteFile("set/a.txt", (f"{base}/a.txt",), DIGEST))
    message = str(err.value)
    assert "\n" not in message and "set/a.txt" in message and DIGEST in message and actual in message
    assert _leftovers(dirs) == []


def test_missing_and_unreachable_says_where_to_put_it(dirs):
    with pytest.raises(BenchError) as err:
        fetch(RemoteFile("set/a.txt", (UNREACHABLE,), DIGEST))
    message = str(err.value)
    assert "\n" not in message
    assert str(dirs / "set" / "a.txt") in message and "BENCH_DATA_DIR" in message and UNREACHABLE in message
    assert "refused" in message.lower()  # the reason
    assert len(message.replace(str(dirs), "")) < 200, message  # the URL, the reason, where to put it: nothing more
    assert _leftovers(dirs) == []
    assert not (dirs / "set").exists() and not dirs.exists()  # no empty cache folders left behind


def test_a_failed_download_is_tried_once_per_process(server, dirs):
    _, base, hits = server
    remote = RemoteFile("once/a.txt", (f"{base}/absent.txt", f"{base}/absent-too.txt"), DIGEST)
    messages = []
    for _ in range(3):  # three cells of a matrix needing the same file
        with pytest.raises(BenchError) as err:
            fetch(remote)
        messages.append(str(err.value))
    assert hits == ["/absent.txt", "/absent-too.txt"]  # each URL once, not once per cell
    assert len(set(messages)) == 1 and "HTTP 404" in messages[0] and "(and 1 mirror)" in messages[0]
    assert not (dirs / "once").exists()


def test_a_cache_folder_that_held_something_stays(dirs):
    (dirs / "set").mkdir(parents=True)
    (dirs / "set" / "other.txt").write_text("kept")
    with pytest.raises(BenchError):
        fetch(RemoteFile("set/deeper/a.txt", (UNREACHABLE,), DIGEST))
    assert not (dirs / "set" / "deeper").exists() and (dirs / "set" / "other.txt").read_text() == "kept"


def test_bench_data_dir_is_preferred_and_never_written(server, tmp_path, monkeypatch, dirs):
    root, base, hits = server
    mine = tmp_path / "mine"
    (mine / "set").mkdir(parents=True)
    (mine / "set" / "a.txt").write_bytes(PAYLOAD)
    (dirs / "set").mkdir(parents=True)
    (dirs / "set" / "a.txt").write_bytes(PAYLOAD)
    monkeypatch.setenv("BENCH_DATA_DIR", str(mine))
    assert fetch(RemoteFile("set/a.txt", (UNREACHABLE,), DIGEST)) == mine / "set" / "a.txt"
    # Missing from BENCH_DATA_DIR: downloaded into the cache, BENCH_DATA_DIR left as it was.
    (root / "b.txt").write_bytes(PAYLOAD)
    assert fetch(RemoteFile("set/b.txt", (f"{base}/b.txt",), DIGEST)) == dirs / "set" / "b.txt"
    assert _leftovers(mine) == ["a.txt"] and hits == ["/b.txt"]


def test_corrupted_file_in_bench_data_dir_is_a_mismatch(tmp_path, monkeypatch, dirs):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "a.txt").write_bytes(PAYLOAD[:-1])
    monkeypatch.setenv("BENCH_DATA_DIR", str(mine))
    with pytest.raises(BenchError) as err:
        fetch(RemoteFile("a.txt", (UNREACHABLE,), DIGEST))
    message = str(err.value)
    assert "\n" not in message and str(mine / "a.txt") in message
    assert DIGEST in message and hashlib.sha256(PAYLOAD[:-1]).hexdigest() in message


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_url_fragment_takes_one_member_out_of_an_archive(server, dirs):
    root, base, _ = server
    (root / "set.zip").write_bytes(_zip({"set/other.txt": b"x", "set/a.txt": PAYLOAD}))
    (root / "set.tgz").write_bytes(_tgz({"./set/data/a.txt": PAYLOAD}))
    assert fetch(RemoteFile("z/a.txt", (f"{base}/set.zip#set/a.txt",), DIGEST)).read_bytes() == PAYLOAD
    assert fetch(RemoteFile("t/a.txt", (f"{base}/set.tgz#set/data/a.txt",), DIGEST)).read_bytes() == PAYLOAD
    assert _leftovers(dirs) == ["a.txt", "a.txt"]  # archives are not kept
    with pytest.raises(BenchError, match="no member"):
        fetch(RemoteFile("m/a.txt", (f"{base}/set.zip#set/missing.txt",), DIGEST))
    assert not (dirs / "m" / "a.txt").exists()
