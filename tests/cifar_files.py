"""Test helper: small CIFAR data sets written in the standard python pickle layout (the format
that :mod:`simulations.encoders.data` loads from a local directory; nothing is downloaded)."""

import os
import pickle

import numpy as np

__all__ = ["write_cifar_pickle"]


def write_cifar_pickle(directory, x_train, y_train, x_test, y_test, *, classes: int = 10):
    """Write arrays (n, 3, 32, 32) uint8 in the standard CIFAR python pickle layout that
    :func:`simulations.encoders.data.load_cifar` reads; the train set is split over the five
    CIFAR-10 batches.  Returns the directory of the files."""
    if classes not in (10, 100):
        raise ValueError(f"classes={classes!r} is not one of (10, 100)")
    label = b"labels" if classes == 10 else b"fine_labels"
    sub = "cifar-10-batches-py" if classes == 10 else "cifar-100-python"
    root = os.path.join(directory, sub)
    os.makedirs(root, exist_ok=True)

    def dump(name, x, y):
        x = np.asarray(x, np.uint8).reshape(len(x), -1)
        with open(os.path.join(root, name), "wb") as fh:
            pickle.dump({b"data": x, label: [int(v) for v in y]}, fh)

    if classes == 10:
        for i, idx in enumerate(np.array_split(np.arange(len(x_train)), 5), start=1):
            dump(f"data_batch_{i}", x_train[idx], np.asarray(y_train)[idx])
        dump("test_batch", x_test, y_test)
    else:
        dump("train", x_train, y_train)
        dump("test", x_test, y_test)
    return root
