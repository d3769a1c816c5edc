"""kNN and linear probes (analysis.probes): spec check value D1 and the kNN fixture."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from analysis import probes as P
from simulations.encoders.data import load_digits_split

TRAIN = np.array([[1, 0], [0, 1], [0.1, 1], [-0.1, 1]])
YTRAIN = np.array([0, 1, 1, 1])
QUERY = np.array([[0.9, 0.5]])


def test_d1_digits_raw_pixels():
    d = load_digits_split()
    xtr = d.x_train.reshape(len(d.x_train), -1) / 16.0
    xte = d.x_test.reshape(len(d.x_test), -1) / 16.0
    acc = P.knn_accuracy(xtr, d.y_train, xte, d.y_test)
    assert acc[1] == pytest.approx(0.98056, abs=5e-6)     # 353 / 360
    assert acc[20] == pytest.approx(0.96667, abs=5e-6)    # 348 / 360
    assert acc["best"] == (1, acc[1])


def test_knn_fixture_votes_disagree():
    maj = P.knn_predict(TRAIN, YTRAIN, QUERY, ks=(4,), vote="majority")[4]
    assert maj.tolist() == [1]                            # 1 vote vs 3
    for temperature, expected in ((0.07, 0), (0.1, 0), (1.0, 1)):
        pred = P.knn_predict(TRAIN, YTRAIN, QUERY, ks=(4,), vote="weighted",
                             temperature=temperature)[4]
        assert pred.tolist() == [expected]
    # the T = 0.07 scores of the spec: 265126.2 vs 4767.104
    sims = TRAIN @ QUERY[0] / np.linalg.norm(TRAIN, axis=1) / np.linalg.norm(QUERY[0])
    # the spec lists them in neighbour order
    np.testing.assert_allclose(np.sort(sims)[::-1], [0.8741573, 0.5702147, 0.4856429, 0.3962509],
                               rtol=1e-6)
    assert np.exp(sims[0] / 0.07) == pytest.approx(265126.2, rel=1e-6)
    assert np.exp(sims[1:] / 0.07).sum() == pytest.approx(4767.104, rel=1e-6)
    # T = 1: 2.396855 vs 4.880108
    assert np.exp(sims[0]) == pytest.approx(2.396855, rel=1e-6)
    assert np.exp(sims[1:]).sum() == pytest.approx(4.880108, rel=1e-6)


def test_knn_ties_go_to_lowest_class_and_lower_index():
    # two neighbours at equal similarity with different classes: k = 2 ties 1-1 -> class 0
    train = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    pred = P.knn_predict(train, np.array([2, 0, 1]), np.array([[1.0, 0.0]]), ks=(1, 2))
    assert pred[1].tolist() == [2]        # equal similarity: the lower train index first
    assert pred[2].tolist() == [0]        # vote tie 2 vs 0: the lowest class id


def test_knn_accuracy_against_brute_force():
    rng = np.random.default_rng(0)
    xtr, ytr = rng.standard_normal((60, 4)), rng.integers(0, 3, 60)
    xte = rng.standard_normal((15, 4))
    pred = P.knn_predict(xtr, ytr, xte, ks=(5,), chunk=4)[5]
    norm = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
    sim = norm(xte) @ norm(xtr).T
    for i in range(15):
        top = np.argsort(-sim[i], kind="stable")[:5]
        assert pred[i] == np.argmax(np.bincount(ytr[top], minlength=3))


@pytest.mark.slow
def test_linear_probe_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 10)) * 4
    y = rng.integers(0, 3, 600)
    x = centres[y] + rng.standard_normal((600, 10))
    out = P.linear_probe(x[:500], y[:500], x[500:], y[500:], epochs=30, batch_size=64, lr=1e-2)
    assert out["test_acc"] > 0.95 and out["train_acc"] > 0.95


@pytest.mark.slow
def test_linear_probe_at_chance_on_shuffled_labels():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 10)) * 4
    y = rng.integers(0, 3, 600)
    x = centres[y] + rng.standard_normal((600, 10))
    chance = P.linear_probe(x[:500], rng.permutation(y[:500]), x[500:], y[500:], epochs=5,
                            batch_size=64)
    assert chance["test_acc"] < 0.6        # shuffled labels: nothing to learn


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="k=5"):
        P.knn_predict(TRAIN, YTRAIN, QUERY, ks=(5,))
    with pytest.raises(ValueError, match="vote"):
        P.knn_predict(TRAIN, YTRAIN, QUERY, ks=(1,), vote="soft")
    with pytest.raises(ValueError, match="train_y"):
        P.knn_predict(TRAIN, YTRAIN[:3], QUERY, ks=(1,))
    with pytest.raises(ValueError, match="features"):
        P.knn_predict(TRAIN, YTRAIN, np.ones((1, 3)), ks=(1,))


@given(st.integers(0, 1000), st.floats(0.1, 10.0))
def test_knn_is_invariant_to_positive_row_scaling(seed, scale):
    rng = np.random.default_rng(seed)
    xtr, ytr = rng.standard_normal((30, 3)), rng.integers(0, 4, 30)
    xte = rng.standard_normal((6, 3))
    a = P.knn_predict(xtr, ytr, xte, ks=(1, 5))
    b = P.knn_predict(xtr * scale, ytr, xte * rng.uniform(0.5, 2.0, (6, 1)), ks=(1, 5))
    for k in (1, 5):
        np.testing.assert_array_equal(a[k], b[k])
