"""Data loading: the real binarized MNIST, the download/cache path on fake files, digits."""
import hashlib
import http.server
import os
import threading
import urllib.error

import numpy as np
import pytest
import torch

from dgmlib.data import DataUnavailableError, atomic_write, binarized_mnist, data_dir, digits
from dgmlib.data import binarized as mnist


# -- the real data (CI points DGMLIB_DATA at ../shared/data) ---------------------------
def test_binarized_mnist_splits_match_the_published_data():
    means = {"train": 0.130562, "valid": 0.131127, "test": 0.132512}  # shared/data/README.md
    for split, n in (("train", 50000), ("valid", 10000), ("test", 10000)):
        x = binarized_mnist(split)
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32
        assert set(torch.unique(x).tolist()) == {0.0, 1.0}
        assert x.mean().item() == pytest.approx(means[split], abs=5e-7)


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="valid"):
        binarized_mnist("validation")


# -- download and cache, on small fake files served through file:// URLs ------------
@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """Three small .amat files in a 'server' folder, with SPLITS and URL pointed at them."""
    rng = np.random.RandomState(0)
    server = tmp_path / "server"
    server.mkdir()
    splits, arrays = {}, {}
    for split, n in (("train", 7), ("valid", 3), ("test", 4)):
        arrays[split] = (rng.rand(n, 28, 28) < 0.2).astype(np.uint8)
        lines = [" ".join(map(str, image.ravel())) for image in arrays[split]]
        (server / f"binarized_mnist_{split}.amat").write_text("\n".join(lines) + "\n")
        splits[split] = (n, hashlib.sha256(arrays[split].tobytes()).hexdigest())
    monkeypatch.setattr(mnist, "SPLITS", splits)
    monkeypatch.setattr(mnist, "URL", server.as_uri() + "/")
    return server, arrays


def test_download_caches_verified_arrays_atomically(fake_mnist, tmp_path, monkeypatch):
    server, arrays = fake_mnist
    cache = tmp_path / "cache"
    x = binarized_mnist("valid", root=cache)
    assert torch.equal(x, torch.from_numpy(arrays["valid"]).float().unsqueeze(1))
    assert sorted(os.listdir(cache)) == ["binarized_mnist.npz"]  # no partial files left
    with np.load(cache / "binarized_mnist.npz") as f:
        assert all(np.array_equal(f[s], arrays[s]) for s in arrays)

    def no_network(url, timeout=60.0):
        raise AssertionError("the cache should have been used")
    monkeypatch.setattr(mnist, "fetch", no_network)
    assert torch.equal(binarized_mnist("test", root=cache), torch.from_numpy(arrays["test"]).float().unsqueeze(1))


def test_data_dir_follows_dgmlib_data(fake_mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("DGMLIB_DATA", str(tmp_path / "env"))
    assert data_dir() == tmp_path / "env"
    binarized_mnist("train")
    assert (tmp_path / "env" / "binarized_mnist.npz").exists()


def test_offline_error_says_how_to_provide_the_files(fake_mnist, tmp_path, monkeypatch):
    def offline(url, timeout=60.0):
        raise urllib.error.URLError("Temporary failure in name resolution")
    monkeypatch.setattr(mnist, "fetch", offline)
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailableError) as info:
        binarized_mnist("train", root=cache)
    message = str(info.value)
    assert "DGMLIB_DATA" in message and str(cache) in message and ".amat" in message
    assert not cache.exists() or os.listdir(cache) == []
    with pytest.raises(DataUnavailableError, match="download=False"):
        binarized_mnist("train", root=cache, download=False)


def test_files_placed_by_hand_are_used_offline(fake_mnist, tmp_path, monkeypatch):
    server, arrays = fake_mnist
    monkeypatch.setattr(mnist, "fetch", lambda url, timeout=60.0: (_ for _ in ()).throw(OSError("offline")))
    x = binarized_mnist("train", root=server)  # the .amat files sit in the data folder itself
    assert torch.equal(x, torch.from_numpy(arrays["train"]).float().unsqueeze(1))


def test_corrupt_download_is_refused_and_not_cached(fake_mnist, tmp_path):
    server, _ = fake_mnist
    path = server / "binarized_mnist_test.amat"
    text = path.read_text()
    path.write_text(("1" if text[0] == "0" else "0") + text[1:])  # flip one pixel
    cache = tmp_path / "cache"
    with pytest.raises(DataUnavailableError, match="checksum"):
        binarized_mnist("train", root=cache)
    assert not (cache / "binarized_mnist.npz").exists()


def test_corrupt_cache_gets_a_clear_error(fake_mnist, tmp_path):
    server, arrays = fake_mnist
    cache = tmp_path / "cache"
    cache.mkdir()
    np.savez_compressed(cache / "binarized_mnist.npz", **{**arrays, "test": 1 - arrays["test"]})
    with pytest.raises(DataUnavailableError, match="delete"):
        binarized_mnist("train", root=cache)


def test_truncated_cache_file_gets_a_clear_error(fake_mnist, tmp_path):
    server, arrays = fake_mnist
    cache = tmp_path / "cache"
    cache.mkdir()
    np.savez_compressed(cache / "binarized_mnist.npz", **arrays)
    data = (cache / "binarized_mnist.npz").read_bytes()
    (cache / "binarized_mnist.npz").write_bytes(data[: len(data) // 2])  # a copy that broke off
    with pytest.raises(DataUnavailableError, match="delete it"):
        binarized_mnist("train", root=cache)


def test_download_that_breaks_off_gets_the_offline_message(fake_mnist, tmp_path, monkeypatch):
    class Truncated(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # promises 100,000 bytes, sends 10, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"0 1 0 1 0 ")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Truncated)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    monkeypatch.setattr(mnist, "URL", f"http://127.0.0.1:{server.server_port}/")
    cache = tmp_path / "cache"
    try:
        with pytest.raises(DataUnavailableError, match="DGMLIB_DATA"):
            binarized_mnist("train", root=cache)
    finally:
        thread.join(timeout=10)
        server.server_close()
    assert not cache.exists() or os.listdir(cache) == []


def test_amat_with_foreign_characters_is_refused():
    with pytest.raises(DataUnavailableError, match="characters"):
        mnist.parse_amat(b"0 1 0.5\n", "train")


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "file.bin"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"half")
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []
    with atomic_write(target) as f:
        f.write(b"whole")
    assert target.read_bytes() == b"whole" and os.listdir(tmp_path) == ["file.bin"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any new file, not private


# -- scikit-learn's digits --------------------------------------------------------------
def test_digits_splits_are_disjoint_and_cover_the_set():
    x_train, y_train = digits("train")
    x_test, y_test = digits("test")
    x_all, _ = digits("all")
    assert x_train.shape[1:] == (1, 8, 8) and len(x_train) + len(x_test) == len(x_all) == 1797
    assert x_all.min() == 0 and x_all.max() == 1
    assert len(y_test) == len(x_test) and set(y_train.tolist()) == set(range(10))
    flat = {tuple(row.tolist()) for row in x_train.flatten(1)}
    overlap = sum(tuple(row.tolist()) in flat for row in x_test.flatten(1))
    assert overlap < 5  # only exact duplicate images in the source could coincide
    xb, _ = digits("train", binarize=True)
    assert set(torch.unique(xb).tolist()) == {0.0, 1.0}
    assert torch.equal(xb, (x_train >= 0.5).float())


# -- 8-bit MNIST with labels -------------------------------------------------------------------
def test_mnist_splits_match_the_published_data():
    from dgmlib.data import mnist as load_mnist
    counts_train = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]  # shared/data/README.md
    counts_test = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x_full, y_full = load_mnist("train_full")
    assert x_full.shape == (60000, 1, 28, 28) and x_full.dtype == torch.float32 and y_full.dtype == torch.int64
    assert x_full.min() == 0 and x_full.max() == 255 and torch.equal(x_full, x_full.round())
    assert x_full.mean().item() == pytest.approx(33.318421, abs=1e-4)
    assert torch.bincount(y_full).tolist() == counts_train and y_full[:5].tolist() == [5, 0, 4, 1, 9]
    x_test, y_test = load_mnist("test")
    assert x_test.mean().item() == pytest.approx(33.791224, abs=1e-4)
    assert torch.bincount(y_test).tolist() == counts_test and y_test[:5].tolist() == [7, 2, 1, 0, 4]
    x_train, y_train = load_mnist("train")
    x_valid, y_valid = load_mnist("valid")
    assert len(x_train) == 50000 and len(x_valid) == 10000
    assert torch.equal(torch.cat([x_train, x_valid]), x_full) and torch.equal(torch.cat([y_train, y_valid]), y_full)
    binary, _ = load_mnist("test", binarize=True)
    assert set(torch.unique(binary).tolist()) == {0.0, 1.0} and torch.equal(binary, (x_test >= 128).float())
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist("validation")


@pytest.fixture
def fake_mnist8(tmp_path, monkeypatch):
    """A small mnist.npz 'served' through a file:// URL, with the checksums pointed at it."""
    from dgmlib.data import mnist8
    rng = np.random.RandomState(0)
    arrays = {"x_train": rng.randint(0, 256, (12, 28, 28)).astype(np.uint8),
              "y_train": rng.randint(0, 10, 12).astype(np.uint8),
              "x_test": rng.randint(0, 256, (3, 28, 28)).astype(np.uint8),
              "y_test": rng.randint(0, 10, 3).astype(np.uint8)}
    server = tmp_path / "server"
    server.mkdir()
    np.savez_compressed(server / "mnist.npz", **arrays)
    monkeypatch.setattr(mnist8, "ARRAYS", {k: (a.shape, hashlib.sha256(a.tobytes()).hexdigest())
                                           for k, a in arrays.items()})
    monkeypatch.setattr(mnist8, "URL", (server / "mnist.npz").as_uri())
    monkeypatch.setattr(mnist8, "N_VALID", 4)
    return server, arrays, mnist8


def test_mnist_download_is_verified_and_cached_atomically(fake_mnist8, tmp_path, monkeypatch):
    server, arrays, mnist8 = fake_mnist8
    cache = tmp_path / "cache"
    x, y = mnist8.mnist("valid", root=cache)
    assert torch.equal(x[:, 0], torch.from_numpy(arrays["x_train"][8:]).float())
    assert torch.equal(y, torch.from_numpy(arrays["y_train"][8:]).long())
    assert os.listdir(cache) == ["mnist.npz"]

    def no_network(url, timeout=60.0):
        raise AssertionError("the cache should have been used")
    monkeypatch.setattr(mnist8, "fetch", no_network)
    assert len(mnist8.mnist("train", root=cache)[0]) == 8


def test_mnist_offline_corrupt_and_truncated_cases_get_clear_errors(fake_mnist8, tmp_path):
    server, arrays, mnist8 = fake_mnist8
    with pytest.raises(DataUnavailableError, match="DGMLIB_DATA"):
        mnist8.mnist("test", root=tmp_path / "empty", download=False)
    bad = dict(arrays, y_test=(arrays["y_test"] + 1) % 10)
    np.savez_compressed(server / "mnist.npz", **bad)  # the 'server' now serves corrupt data
    with pytest.raises(DataUnavailableError, match="checksum"):
        mnist8.mnist("test", root=tmp_path / "fresh")
    assert not (tmp_path / "fresh" / "mnist.npz").exists()  # nothing unverified is cached
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "mnist.npz").write_bytes((server / "mnist.npz").read_bytes()[:100])
    with pytest.raises(DataUnavailableError, match="cannot be read"):
        mnist8.mnist("test", root=tmp_path / "cut")
