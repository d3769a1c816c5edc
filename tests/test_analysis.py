"""Collapse metrics against direct numpy definitions (spec §2.7)."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import analysis as an


finite = st.floats(-10, 10, allow_nan=False)


@pytest.mark.slow
@given(arrays(np.float64, st.tuples(st.integers(2, 6), st.integers(1, 4)), elements=finite))
def test_distances_spread_and_gram_match_definitions(Y):
    K = Y.shape[0]
    D = np.array([[np.linalg.norm(Y[a] - Y[b]) for b in range(K)] for a in range(K)])
    pairs = list(itertools.combinations(range(K), 2))
    np.testing.assert_allclose(an.label_distances(Y), D, atol=1e-10)
    assert float(an.d_min(Y)) == pytest.approx(min(D[a, b] for a, b in pairs), abs=1e-10)
    assert float(an.d_mean(Y)) == pytest.approx(np.mean([D[a, b] for a, b in pairs]), abs=1e-10)
    P = np.eye(K) - np.ones((K, K)) / K
    Gc = P @ Y @ Y.T @ P
    np.testing.assert_allclose(an.centred_gram(Y), Gc, atol=1e-9)
    spread = sum(D[a, b] ** 2 for a, b in pairs) / K
    assert float(an.label_spread(Y)) == pytest.approx(np.trace(Gc), abs=1e-8)
    assert float(an.label_spread(Y)) == pytest.approx(spread, abs=1e-8)


def test_masks_exclude_padded_labels():
    Y = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
    mask = np.array([True, True, True, False])
    assert float(an.d_min(Y, mask)) == 3.0
    assert float(an.d_min(Y)) == 0.0
    assert float(an.label_spread(Y, mask)) == pytest.approx(an.label_spread(Y[:3]))


def test_cosine_and_collapse_ratio():
    Y = np.array([[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(an.cosine_matrix(Y), [[1, 2**-0.5], [2**-0.5, 1]])
    ratio = an.collapse_ratio(np.array([1.0, 3.0, 2.0, 0.3]))
    np.testing.assert_allclose(ratio, [1.0, 1.0, 2 / 3, 0.1])


def test_nearest_label_accuracy_groups_and_ties():
    Y = np.array([[0.0, 0.0], [2.0, 0.0]])
    R = np.array([[0.1, 0.0], [1.9, 0.0], [1.0, 0.0], [1.8, 0.0]])
    classes = np.array([0, 1, 0, 0])
    frustrated = np.array([False, False, True, True])
    acc = an.nearest_label_accuracy(R, Y, classes, frustrated)
    assert float(acc["acc_cons"]) == 1.0
    assert float(acc["acc_all"]) == pytest.approx(0.75)  # sample 2 ties (argmin -> 0), 3 wrong
    assert float(acc["acc_frus"]) == pytest.approx(0.5)
    assert float(acc["tie_frus"]) == 0.5


def test_fit_decay_rate_recovers_rate_and_rejects_bad_windows():
    t = np.linspace(0, 50, 200)
    y = 2.0 * np.exp(-0.13 * t) + 1e-3 * np.exp(-3 * t)
    fit = an.fit_decay_rate(t, y, window=(10, 50))
    assert fit["rate"] == pytest.approx(0.13, rel=1e-9)
    assert fit["amplitude"] == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(ValueError, match="window"):
        an.fit_decay_rate(t, y, window=(60, 70))
    assert an.first_crossing_time(t, t > 10, 1.0) == pytest.approx(t[t > 10][0])


def test_head_space_readout():
    """With head=W the readout is W x_i: raw and head-space accuracies differ when the head
    maps samples onto other labels (why Models B/C read out in head space)."""
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    X = np.array([[0.0, 0.9], [0.9, 0.0]])  # raw: each sample sits at the other label
    W = np.array([[0.0, 1.0], [1.0, 0.0]])  # the head swaps the axes
    classes, frustrated = np.array([0, 1]), np.zeros(2, bool)
    assert float(an.nearest_label_accuracy(X, Y, classes, frustrated)["acc_all"]) == 0.0
    head = an.nearest_label_accuracy(X, Y, classes, frustrated, head=W)
    assert float(head["acc_all"]) == 1.0
    same = an.nearest_label_accuracy(X @ W.T, Y, classes, frustrated)
    assert float(same["acc_all"]) == float(head["acc_all"])
