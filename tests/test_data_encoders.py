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
