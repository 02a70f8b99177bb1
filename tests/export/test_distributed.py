"""Ray plumbing without a cluster: the missing extra, addresses, an address nobody answers
at (``--ray`` on sentio-train's extract and search too)."""

from __future__ import annotations

import sys
import time

import pytest
from sentio.export.distributed import (
    DEFAULT_RAY_PORT,
    check_reachable,
    require_ray,
    split_address,
)
from sentio.runtime.errors import ClusterError, ClusterUnavailableError, MissingExtraError

from tests.helpers import free_port, write_catalogue


def test_without_ray_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtraError) as caught:
        require_ray()
    assert 'pip install "sentio-mer[ray]"' in caught.value.hint


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.5:6380", ("10.0.0.5", 6380)),
        ("head.lan", ("head.lan", DEFAULT_RAY_PORT)),
        ("ray://head.lan:10001", ("head.lan", 10001)),
        ("[::1]:7000", ("::1", 7000)),
    ],
)
def test_addresses_split_into_host_and_port(address, expected):
    assert split_address(address) == expected


@pytest.mark.parametrize("address", [":6379", "head:port"])
def test_an_unreadable_address_is_refused(address):
    with pytest.raises(ClusterError, match="Ray address"):
        split_address(address)


def test_nothing_listening_fails_fast_with_the_address():
    address = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(ClusterUnavailableError, match=f"no Ray cluster answers at {address}"):
        check_reachable(address)
    assert time.monotonic() - start < 5
    check_reachable("local")  # nothing to probe


@pytest.fixture
def not_a_ray_head():
    """A server that accepts every connection and speaks HTTP/2, but is no Ray head (as a
    proxy in front of an unroutable address does): its address."""
    grpc = pytest.importorskip("grpc")
    from concurrent.futures import ThreadPoolExecutor

    server = grpc.server(ThreadPoolExecutor(1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(0)


def test_something_else_listening_fails_fast_without_ray_s_log(not_a_ray_head, tmp_path, capfd):
    pytest.importorskip("ray")
    from sentio.export.cli.analyze import main

    with pytest.raises(ClusterUnavailableError, match="it is not a Ray head"):
        check_reachable(not_a_ray_head)
    write_catalogue(tmp_path / "music", songs=1, seconds=3.0)
    start = time.monotonic()
    argv = [str(tmp_path / "music"), "--ray", not_a_ray_head, "--out", str(tmp_path / "o")]
    code = main([*argv, "--quiet"])
    assert (code, time.monotonic() - start < 5) == (3, True)
    err = capfd.readouterr().err
    assert f"error: no Ray cluster answers at {not_a_ray_head}" in err and "UNIMPLEMENTED" in err
    assert "gcs_client" not in err  # none of Ray's C++ lines ("[2026-.. W ..] gcs_client.cc")
    assert not [line for line in err.splitlines() if line.startswith("[")]


def test_train_extract_without_ray_exits_2_naming_the_extra(tmp_path, capsys, monkeypatch):
    from sentio.export.cli.train import main
    from sentio.export.data.synthetic import make_synthetic_dataset

    songs = make_synthetic_dataset(tmp_path, n_songs=2, duration_s=1.0)
    monkeypatch.setitem(sys.modules, "ray", None)
    code = main(["extract", "--manifest", str(songs), "--no-cache", "--ray"])
    assert code == 2
    assert "sentio-mer[ray]" in capsys.readouterr().err


def test_train_search_at_an_unreachable_cluster_exits_3_before_reading_data(tmp_path, capsys):
    pytest.importorskip("ray")
    from sentio.export.cli.train import main

    address = f"127.0.0.1:{free_port()}"
    missing = tmp_path / "no-such.csv"  # never read: the cluster is checked first
    missing.write_text("path,valence,arousal\n")
    code = main(["search", "--manifest", str(missing), "--ray", address, "--out", str(tmp_path)])
    assert code == 3
    assert f"no Ray cluster answers at {address}" in capsys.readouterr().err
