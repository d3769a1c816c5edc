"""Offline data sets of simulations.encoders.data: digits split, CIFAR pickle loader, mixtures."""

import os

import numpy as np
import pytest

from cifar_files import write_cifar_pickle
from simulations.encoders import data as D


def test_digits_split_matches_spec():
    d = D.load_digits_split()
    assert d.x_train.shape == (1437, 1, 8, 8) and d.x_test.shape == (360, 1, 8, 8)
    assert d.x_train.dtype == np.uint8 and d.x_train.max() == 16 and d.scale == 16.0
    # stratified: every class keeps its share within one sample
    counts_tr = np.bincount(d.y_train, minlength=10)
    counts_te = np.bincount(d.y_test, minlength=10)
    np.testing.assert_allclose(counts_te / (counts_tr + counts_te), 0.2, atol=0.02)
    std = d.standardised("train")
    assert std.dtype == np.float32
    np.testing.assert_allclose([std.mean(), std.std()], [0.0, 1.0], atol=1e-5)


def _fake_cifar(n, classes, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8),
            rng.integers(0, classes, n))


@pytest.mark.parametrize("classes", [10, 100])
def test_cifar_pickle_round_trip(tmp_path, classes):
    xtr, ytr = _fake_cifar(25, classes, 0)
    xte, yte = _fake_cifar(7, classes, 1)
    write_cifar_pickle(tmp_path, xtr, ytr, xte, yte, classes=classes)
    name = "cifar10" if classes == 10 else "cifar100"
    for root in (tmp_path, os.path.join(tmp_path, "cifar-10-batches-py" if classes == 10
                                        else "cifar-100-python")):
        d = D.load_dataset(name, data_dir=str(root))
        np.testing.assert_array_equal(d.x_train, xtr)
        np.testing.assert_array_equal(d.y_train, ytr)
        np.testing.assert_array_equal(d.x_test, xte)
        np.testing.assert_array_equal(d.y_test, yte)
        assert d.n_classes == classes and d.scale == 255.0 and d.augment == "cifar"
        assert d.mean.shape == (3, 1, 1)


def test_cifar_row_layout_is_channel_major(tmp_path):
    # the pickle stores 1024 red, then 1024 green, then 1024 blue values per image (row-major)
    x = np.zeros((5, 3, 32, 32), np.uint8)
    x[0, 1, 2, 3] = 200                        # green channel, row 2, column 3
    write_cifar_pickle(tmp_path, x, np.zeros(5, int), x[:1], [0])
    import pickle

    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")[b"data"]
    assert raw[0, 1024 + 2 * 32 + 3] == 200
    assert D.load_cifar(str(tmp_path)).x_train[0, 1, 2, 3] == 200


def test_cifar_errors(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        D.load_dataset("cifar10", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="data_dir=None"):
        D.load_cifar(None)
    xtr, _ = _fake_cifar(5, 10, 0)
    write_cifar_pickle(tmp_path, xtr, [0, 1, 2, 3, 12], xtr[:1], [0])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        D.load_cifar(str(tmp_path))


def _corrupt(path, content):
    import pickle

    with open(path, "wb") as fh:
        if isinstance(content, bytes):
            fh.write(content)
        else:
            pickle.dump(content, fh)


_GOOD = np.zeros((2, 3072), np.uint8)


@pytest.mark.parametrize("content, message", [
    (np.random.default_rng(0).bytes(2000), "is not readable as a pickle"),
    (b"", "is not readable as a pickle"),                                  # empty file
    ({b"labels": [0, 1]}, "lacks b'data'"),
    ({b"data": _GOOD}, "lacks b'labels'"),
    ([1, 2, 3], "holds a list"),
    ({b"data": np.zeros((2, 3, 32, 32), np.uint8), b"labels": [0, 1]}, r"shape \(2, 3, 32, 32\)"),
    ({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, r"shape \(2, 100\)"),
    ({b"data": np.full((2, 3072), 300), b"labels": [0, 1]}, "uint8 values"),
    ({b"data": _GOOD, b"labels": [0, 1, 2]}, "expected 2 integers"),
    ({b"data": _GOOD, b"labels": ["a", "b"]}, "expected 2 integers"),
])
def test_bad_cifar_file_names_the_file_and_the_format(tmp_path, content, message):
    """Each way a CIFAR file can be wrong is a ValueError naming the file."""
    xtr, ytr = _fake_cifar(10, 10, 0)
    root = write_cifar_pickle(tmp_path, xtr, ytr, xtr[:2], ytr[:2])
    bad = os.path.join(root, "data_batch_3")
    _corrupt(bad, content)
    with pytest.raises(ValueError, match=message) as info:
        D.load_dataset("cifar10", data_dir=str(tmp_path))
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("classes, name", [(10, "test_batch"), (10, "data_batch_5"),
                                           (100, "train"), (100, "test")])
def test_missing_cifar_file_is_named(tmp_path, classes, name):
    xtr, ytr = _fake_cifar(10, classes, 0)
    root = write_cifar_pickle(tmp_path, xtr, ytr, xtr[:2], ytr[:2], classes=classes)
    os.remove(os.path.join(root, name))
    with pytest.raises(ValueError, match="missing CIFAR file") as info:
        D.load_cifar(str(tmp_path), classes=classes)
    assert repr(os.path.join(root, name)) in str(info.value)


def test_cifar100_file_needs_fine_labels(tmp_path):
    # a CIFAR-10 style dict (b"labels") where CIFAR-100 wants b"fine_labels"
    root = os.path.join(tmp_path, "cifar-100-python")
    os.makedirs(root)
    for name in ("train", "test"):
        _corrupt(os.path.join(root, name), {b"data": _GOOD, b"labels": [0, 1]})
    with pytest.raises(ValueError, match="lacks b'fine_labels'"):
        D.load_cifar(str(tmp_path), classes=100)


def test_gaussian_mixture_is_seeded_and_separated():
    a = D.gaussian_mixture(seed=3, n_train=400, separation=6.0)
    b = D.gaussian_mixture(seed=3, n_train=400, separation=6.0)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, D.gaussian_mixture(seed=4, n_train=400).x_train)
    # nearest-centre classification works at separation 6 in 32 dimensions
    mu = np.stack([a.x_train[a.y_train == k].mean(0) for k in range(a.n_classes)])
    pred = np.argmin(((a.x_test[:, None] - mu[None]) ** 2).sum(-1), axis=1)
    assert np.mean(pred == a.y_test) > 0.9
    with pytest.raises(ValueError, match="n_classes"):
        D.gaussian_mixture(n_classes=1)


def test_unknown_dataset_refused():
    with pytest.raises(ValueError, match="data='mnist'"):
        D.load_dataset("mnist")
