"""Data sets for encoder training, all offline: nothing here downloads.

- ``digits``: ``sklearn.datasets.load_digits`` (1797 images 8x8, values 0-16, shipped with
  scikit-learn), split as spec ``hamiltonian_geometry.md`` §9 (RECONSTRUCTION of the CPU
  analogue): ``train_test_split(test_size=0.2, stratify=y, random_state=0)`` -> 1437 / 360;
  standardised with the train mean and sd (scalars).
- ``cifar10`` / ``cifar100``: the standard python pickle format from a local directory
  (``cifar-10-batches-py``: ``data_batch_1..5`` and ``test_batch`` with ``b"data"``,
  ``b"labels"``; ``cifar-100-python``: ``train`` and ``test`` with ``b"fine_labels"``);
  normalised with the author's CIFAR mean and sd (spec §4.2).
- ``gaussian_mixture``: K isotropic Gaussian classes in R^F with random unit-norm centres
  times ``separation`` (synthetic, seeded).

Images are kept as raw integers (uint8) with a ``scale`` (16 for digits, 255 for CIFAR): the
training step converts a batch with ``raw.astype(dtype) / scale`` to [0, 1], augments it, and
standardises it with ``mean`` and ``std`` (broadcast against one image).
"""

from __future__ import annotations

import dataclasses
import os
import pickle

import numpy as np

from minimal_models import validation as check

__all__ = ["Dataset", "DATASETS", "DATA_INPUTS", "FILE_DATASETS", "load_dataset",
           "load_digits_split", "load_cifar",
           "gaussian_mixture", "shifted_test_images"]

DATASETS = ("digits", "cifar10", "cifar100", "gaussian_mixture")

#: What each data set's samples are: ``"image"`` (C, H, W), ``"rgb_image"`` (3, H, W) or
#: ``"vector"`` (F,).
DATA_INPUTS = {"digits": "image", "cifar10": "rgb_image", "cifar100": "rgb_image",
               "gaussian_mixture": "vector"}

#: The data sets read from a local folder (``data_dir``); the others are bundled or synthetic.
FILE_DATASETS = ("cifar10", "cifar100")

# the author's CIFAR normalisation (spec §4.2); the CIFAR-100 statistics are used for both sets
CIFAR_MEAN = (0.5071, 0.4867, 0.4408)
CIFAR_STD = (0.2675, 0.2565, 0.2761)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A labelled train/test split.  ``x_*`` raw (uint8 images or float32 vectors), divide by
    ``scale`` for [0, 1]; ``mean``/``std`` standardise one (scaled) sample by broadcasting;
    ``augment`` names the default augmentation (:mod:`simulations.encoders.augment`)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scale: float
    mean: np.ndarray
    std: np.ndarray
    n_classes: int
    augment: str

    @property
    def sample_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def standardised(self, split: str = "train") -> np.ndarray:
        """float32 standardised samples of ``split`` (no augmentation): evaluation inputs."""
        x = self.x_train if split == "train" else self.x_test
        return ((x.astype(np.float32) / self.scale - self.mean) / self.std).astype(np.float32)


def load_digits_split() -> Dataset:
    """sklearn digits with the §9 split (1437 train / 360 test, stratified, random_state 0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.uint8)[:, None]  # (1797, 1, 8, 8), values 0..16
    xtr, xte, ytr, yte = train_test_split(images, digits.target, test_size=0.2,
                                          stratify=digits.target, random_state=0)
    unit = xtr.astype(np.float64) / 16.0
    return Dataset("digits", xtr, ytr.astype(np.int32), xte, yte.astype(np.int32), 16.0,
                   np.asarray(unit.mean(), np.float32), np.asarray(unit.std(), np.float32), 10,
                   "digits")


def _unpickle(path, label):
    """One CIFAR batch file: a dict with ``b"data"`` (n, 3072) uint8 and ``label`` (n ints).

    Every way a file can be wrong (missing, not a pickle, not a dict, keys missing, wrong
    shapes) raises ``ValueError`` naming the file and what was expected, never a bare
    ``UnpicklingError`` / ``KeyError`` / ``TypeError``."""
    expected = (f'the standard CIFAR python pickle: a dict with b"data" (n, 3072) uint8 and '
                f'{label!r} (n integers); nothing is downloaded')
    if not os.path.isfile(path):
        raise ValueError(f"data_dir: missing CIFAR file {path!r} ({expected})")
    try:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
    except Exception as exc:  # random bytes, truncation: any unpickling failure
        reason = " ".join(str(exc).split())[:120]   # one line for the CLI's error message
        raise ValueError(f"data_dir: CIFAR file {path!r} is not readable as a pickle "
                         f"({type(exc).__name__}: {reason}); expected {expected}") from None
    if not isinstance(batch, dict):
        raise ValueError(f"data_dir: CIFAR file {path!r} holds a {type(batch).__name__}, "
                         f"expected {expected}")
    missing = [k for k in (b"data", label) if k not in batch]
    if missing:
        keys = sorted(repr(k) for k in batch)[:8]
        raise ValueError(f"data_dir: CIFAR file {path!r} lacks {', '.join(map(repr, missing))} "
                         f"(keys: {', '.join(keys) or 'none'}); expected {expected}")
    try:
        data = np.asarray(batch[b"data"])
        labels = np.asarray(batch[label])
    except Exception as exc:  # ragged lists and other non-arrays
        raise ValueError(f"data_dir: CIFAR file {path!r} has entries that are not arrays "
                         f"({' '.join(str(exc).split())[:120]}); expected {expected}") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or not (
            data.dtype == np.uint8 or (np.issubdtype(data.dtype, np.integer) and data.size
                                       and data.min() >= 0 and data.max() <= 255)):
        raise ValueError(f"data_dir: CIFAR file {path!r} has b\"data\" of shape {data.shape} "
                         f"and dtype {data.dtype}; expected (n, 3072) uint8 values")
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"data_dir: CIFAR file {path!r} has {label!r} of shape {labels.shape} "
                         f"and dtype {labels.dtype}; expected {data.shape[0]} integers "
                         "(one per image)")
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), labels.astype(np.int32)


def load_cifar(data_dir, *, classes: int = 10) -> Dataset:
    """CIFAR-10 (``classes=10``) or CIFAR-100 (``classes=100``) from ``data_dir``, which is the
    extracted ``cifar-10-batches-py`` / ``cifar-100-python`` folder or its parent."""
    check.choice("classes", classes, (10, 100))
    if data_dir is None:
        raise ValueError("data_dir=None: CIFAR needs a local directory in the python pickle "
                         "format (nothing is downloaded)")
    sub = "cifar-10-batches-py" if classes == 10 else "cifar-100-python"
    root = os.path.join(data_dir, sub) if os.path.isdir(os.path.join(data_dir, sub)) else data_dir
    label = b"labels" if classes == 10 else b"fine_labels"
    names = [f"data_batch_{i}" for i in range(1, 6)] if classes == 10 else ["train"]
    parts = [_unpickle(os.path.join(root, n), label) for n in names]
    xte, yte = _unpickle(os.path.join(root, "test_batch" if classes == 10 else "test"), label)
    xtr = np.concatenate([x for x, _ in parts])
    ytr = np.concatenate([y for _, y in parts])
    for name, y in (("train labels", ytr), ("test labels", yte)):
        if y.size and (y.min() < 0 or y.max() >= classes):
            raise ValueError(f"CIFAR-{classes} {name} must lie in [0, {classes - 1}]")
    shape = (3, 1, 1)
    return Dataset(f"cifar{classes}", xtr, ytr, xte, yte, 255.0,
                   np.asarray(CIFAR_MEAN, np.float32).reshape(shape),
                   np.asarray(CIFAR_STD, np.float32).reshape(shape), classes, "cifar")


def gaussian_mixture(*, n_classes: int = 10, dim: int = 32, n_train: int = 2000,
                     n_test: int = 500, separation: float = 3.0, seed: int = 0) -> Dataset:
    """K Gaussian classes N(separation * c_k, I) in R^dim, c_k random unit vectors (seeded)."""
    check.integer("n_classes", n_classes, minimum=2)
    check.integer("dim", dim, minimum=1)
    check.integer("n_train", n_train, minimum=n_classes)
    check.integer("n_test", n_test, minimum=1)
    check.positive("separation", separation)
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, dim))
    centres *= separation / np.linalg.norm(centres, axis=1, keepdims=True)

    def draw(n):
        y = rng.integers(0, n_classes, n)
        return (centres[y] + rng.standard_normal((n, dim))).astype(np.float32), y.astype(np.int32)

    xtr, ytr = draw(n_train)
    xte, yte = draw(n_test)
    return Dataset("gaussian_mixture", xtr, ytr, xte, yte, 1.0, np.zeros((), np.float32),
                   np.ones((), np.float32), n_classes, "noise")


def load_dataset(name: str, *, data_dir=None, seed: int = 0) -> Dataset:
    """The data set ``name`` (one of :data:`DATASETS`)."""
    check.choice("data", name, DATASETS)
    if name == "digits":
        return load_digits_split()
    if name == "cifar10":
        return load_cifar(data_dir, classes=10)
    if name == "cifar100":
        return load_cifar(data_dir, classes=100)
    return gaussian_mixture(seed=seed)


def shifted_test_images(data, *, seed: int = 0):
    """Protocol (b) of spec §9: the test set with one fixed random +-1 pixel translation per
    image (background fill), for headroom (clean digits saturate)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(data.x_test)
    out = np.zeros_like(x)
    shifts = rng.integers(-1, 2, size=(len(x), 2))
    for i, (dy, dx) in enumerate(shifts):
        out[i] = np.roll(x[i], (int(dy), int(dx)), axis=(-2, -1))
        if dy:
            out[i][..., 0 if dy > 0 else -1, :] = 0
        if dx:
            out[i][..., :, 0 if dx > 0 else -1] = 0
    return out
