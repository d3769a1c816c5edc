"""A training run directory is a store: nothing lost, nothing silent, nothing reused.

Every damaged checkpoint (bytes zeroed, truncated, emptied, overwritten with large floats) is
detected by its checksum: the run resumes from the previous good checkpoint to bit-identical
results, or, without one, is refused with one line naming the file.  A checkpoint carries its
configuration, so a directory whose ``config.json`` was deleted is not resumed under another
seed.  A full disk at a checkpoint is one line naming the path and leaves no temporary file;
the run resumes once space is back.  Settings are refused before any work when they overflow,
or when the chosen network / data combination would not read them.
"""

import dataclasses
import errno
import os
import re
import warnings

import equinox as eqx
import jax
import numpy as np
import pytest
import xarray as xr

from simulations.encoders import checkpoint as ckpt
from simulations.encoders.config import TrainConfig, config_from_assignments, unused_settings
from simulations.encoders.data import load_digits_split
from simulations.encoders.train import CHECKPOINT, METRICS, train

DIGITS = load_digits_split()
# checkpoints after steps 2 and 4 and at the end (6): checkpoint.eqx at 6, .prev at 4
CFG = TrainConfig(objective="sigreg", data="digits", encoder="mlp", out_dim=32, batch_size=64,
                  steps=6, steps_per_dispatch=2, lr=2e-3, warmup_frac=0.0, checkpoint_every=2,
                  checkpoint_seconds=0.0)


def _run(out_dir, cfg=CFG, **kw):
    return train(cfg, out_dir=str(out_dir), data=DIGITS, progress=False, **kw)


def _leaves(result):
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(
        (result.encoder, result.state), eqx.is_array))]


def _assert_same_run(a, b):
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb) > 0
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(x, y)
    for name in a.metrics.data_vars:
        np.testing.assert_array_equal(a.metrics[name].values, b.metrics[name].values)
    np.testing.assert_array_equal(a.metrics["step"].values, b.metrics["step"].values)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("reference"))


@pytest.fixture
def finished(tmp_path, reference):
    run = tmp_path / "run"
    _assert_same_run(_run(run), reference)
    assert sorted(os.listdir(run)) == ["checkpoint.eqx", "checkpoint.prev.eqx", "config.json",
                                       "metrics.nc"]
    return run


# ------------------------------------------------------------------------ damaged bytes

def _zero_400(path):
    with open(path, "r+b") as fh:           # same size, 400 bytes of zeros in the middle
        fh.seek(os.path.getsize(path) // 2)
        fh.write(b"\0" * 400)


def _truncate(path):
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)


def _empty(path):
    open(path, "wb").close()


def _large_floats(path):
    size = os.path.getsize(path)            # same size, the payload after the two header lines
    with open(path, "rb") as fh:
        head = fh.readline() + fh.readline()
    body = np.full((size - len(head)) // 4 + 1, 3.0e38, np.float32).tobytes()
    with open(path, "wb") as fh:
        fh.write(head + body[:size - len(head)])


DAMAGE = {"zeroed_400_bytes": _zero_400, "truncated": _truncate, "empty": _empty,
          "large_garbage_floats": _large_floats}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_checkpoint_resumes_from_the_previous_one_bit_identical(finished, reference,
                                                                        damage):
    path = finished / CHECKPOINT
    size = os.path.getsize(path)
    DAMAGE[damage](path)
    assert damage in ("truncated", "empty") or os.path.getsize(path) == size
    steps = []
    with pytest.warns(RuntimeWarning, match=f"{path}.*resuming from the earlier checkpoint "
                                            "at step 4"):
        resumed = _run(finished, callback=lambda step, logs: steps.append(step))
    assert steps == [6]                      # only the steps after the good checkpoint
    _assert_same_run(resumed, reference)
    on_disk = xr.load_dataset(finished / METRICS)
    np.testing.assert_array_equal(on_disk["loss"].values, reference.metrics["loss"].values)
    assert on_disk.attrs["status"] == "complete"
    # the rewritten checkpoints are good again: a rerun needs no fallback
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same_run(_run(finished), reference)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_checkpoint_without_a_previous_one_is_refused_naming_the_file(finished,
                                                                              damage):
    os.unlink(finished / ckpt.PREVIOUS)
    path = finished / CHECKPOINT
    DAMAGE[damage](path)
    before = {name: (finished / name).read_bytes() for name in os.listdir(finished)}
    with pytest.raises(ValueError) as info:
        _run(finished)
    message = str(info.value)
    assert str(path) in message and "\n" not in message and "delete it" in message
    # refused before anything was written
    assert {name: (finished / name).read_bytes() for name in os.listdir(finished)} == before


def test_both_checkpoints_damaged_is_refused_naming_both(finished):
    _zero_400(finished / CHECKPOINT)
    _truncate(finished / ckpt.PREVIOUS)
    with pytest.raises(ValueError, match=r"checkpoint\.eqx.*checkpoint\.prev\.eqx"):
        _run(finished)


def test_a_write_interrupted_between_its_renames_resumes(finished, reference):
    os.replace(finished / CHECKPOINT, finished / "elsewhere")   # only .prev is left
    _assert_same_run(_run(finished), reference)


# -------------------------------------------------------------- the configuration inside

def test_deleted_config_json_and_another_seed_is_refused(finished):
    """config.json gone, rerun with seed 1: the checkpoint knows it was seed 0."""
    os.unlink(finished / ckpt.CONFIG)
    before = {name: (finished / name).read_bytes() for name in os.listdir(finished)}
    other = dataclasses.replace(CFG, seed=1)
    with pytest.raises(ValueError, match=r"checkpoint\.eqx holds a checkpoint of another "
                                         r"configuration \(seed: 0 stored, 1 now\)"):
        _run(finished, other)
    assert {name: (finished / name).read_bytes() for name in os.listdir(finished)} == before


def test_deleted_config_json_same_configuration_resumes(finished, reference):
    os.unlink(finished / ckpt.CONFIG)
    _assert_same_run(_run(finished), reference)
    assert (finished / ckpt.CONFIG).exists()


def test_config_json_of_another_run_names_what_differs(finished):
    # refused by config.json first (before any data is read), checkpoints or not
    with pytest.raises(ValueError, match=r"another configuration .*config\.json: lr: 0.002 "
                                         r"stored, 0.001 now"):
        _run(finished, dataclasses.replace(CFG, lr=1e-3))
    # checkpoint settings are not part of the identity
    _run(finished, dataclasses.replace(CFG, checkpoint_every=0, checkpoint_seconds=60.0))


def test_unreadable_config_json_is_refused_naming_it(finished):
    (finished / ckpt.CONFIG).write_text("{not json")
    with pytest.raises(ValueError, match=r"config\.json is not a readable run configuration"):
        _run(finished)


# --------------------------------------------------------------------------- full disk

def test_disk_full_at_a_checkpoint_names_the_path_and_resumes(tmp_path, reference,
                                                              monkeypatch):
    run = tmp_path / "run"
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:                 # the checkpoint after step 4
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError) as info:
        _run(run)
    exc = info.value
    assert exc.errno == errno.ENOSPC and exc.filename == str(run / CHECKPOINT)
    assert "\n" not in str(exc)
    assert sorted(os.listdir(run)) == ["checkpoint.eqx", "config.json"]   # no temporary file
    monkeypatch.setattr(os, "fsync", real_fsync)                           # space is back
    steps = []
    resumed = _run(run, callback=lambda step, logs: steps.append(step))
    assert steps == [4, 6]                  # resumed from the checkpoint after step 2
    _assert_same_run(resumed, reference)


@pytest.mark.slow
def test_disk_full_is_one_line_on_the_command_line(tmp_path, monkeypatch, capsys):
    from paper_repro.cli import main

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "run"
    code = main(["train", "--objective", "sigreg", "--data", "digits", "--no-eval", "--out",
                 str(out), "--set", "encoder=mlp", "--set", "out_dim=32", "--set",
                 "batch_size=64", "--set", "steps=2", "--set", "checkpoint_seconds=0"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]     # after the progress bar: the one error line
    assert line.startswith("collapse-lab: error: No space left on device")
    assert str(out / CHECKPOINT) in line
    assert not [n for n in os.listdir(out) if ".tmp" in n]


# ------------------------------------------------------------------ refusals before work

@pytest.mark.parametrize("key, value, message", [
    ("steps", 99999999999999999999999, r"steps=99999999999999999999999 is outside the allowed "
                                       r"range \[1, 2147483647\]"),
    ("steps", 2**31, r"steps=2147483648 is outside the allowed range \[1, 2147483647\]"),
    ("seed", 99999999999999999999999, r"seed=99999999999999999999999 is outside the allowed "
                                      r"range \[0, 4294967295\]"),
    ("seed", 2**32, r"seed=4294967296 is outside the allowed range \[0, 4294967295\]"),
    ("batch_size", 2**40, r"batch_size=1099511627776 is outside"),
    ("checkpoint_every", 2**31, r"checkpoint_every=2147483648 is outside"),
])
def test_integer_overflow_is_refused_before_anything_is_written(tmp_path, key, value,
                                                                message):
    with pytest.raises(ValueError, match=message):
        config_from_assignments({"objective": "sigreg", "data": "digits"}, [(key, value)])
    assert not os.listdir(tmp_path)


def test_overflow_on_the_command_line_leaves_no_directory(tmp_path, capsys):
    from paper_repro.cli import main

    for setting in ("steps=99999999999999999999999", "seed=99999999999999999999999",
                    "seed=4294967296", "steps=4294967296"):
        out = tmp_path / "run"
        code = main(["train", "--objective", "sigreg", "--data", "digits", "--set", setting,
                     "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and setting.split("=")[0] in err and "Traceback" not in err, err
        assert not out.exists()


# ------------------------------------------------------------------- no setting ignored

def _stand_in(data, tmp_path):
    """A small data set of ``data``'s sample shape (CIFAR without files)."""
    from simulations.encoders.data import CIFAR_MEAN, CIFAR_STD, Dataset, gaussian_mixture

    if data == "digits":
        return DIGITS
    if data == "gaussian_mixture":
        return gaussian_mixture(n_train=64, n_test=16)
    x = np.zeros((64, 3, 32, 32), np.uint8)
    y = np.zeros(64, np.int32)
    return Dataset(data, x, y, x[:8], y[:8], 255.0,
                   np.asarray(CIFAR_MEAN, np.float32).reshape(3, 1, 1),
                   np.asarray(CIFAR_STD, np.float32).reshape(3, 1, 1), 10, "cifar")


def _abstract_run(cfg, data):
    """Shapes and structure of the run's initial parameters and encoder state."""
    import importlib

    T = importlib.import_module("simulations.encoders.train")
    dyn, _, mstate, _ = eqx.filter_eval_shape(lambda: T._init(cfg, data))
    leaves, treedef = jax.tree.flatten((dyn, mstate))
    return str(treedef), [(a.shape, str(a.dtype)) for a in leaves]


_SETTINGS = {"width": 8, "out_dim": 34, "norm": None, "data_dir": None}


@pytest.mark.parametrize("data", ["digits", "cifar10", "cifar100", "gaussian_mixture"])
@pytest.mark.parametrize("encoder", ["mlp", "digits_cnn", "resnet18_tokens"])
def test_every_setting_is_read_or_refused_for_every_network_and_data(tmp_path, encoder, data):
    """Each of width, out_dim, norm and data_dir changes what the run builds or reads, or is
    refused naming the network and data that do not use it; a network that cannot take the
    data is refused naming both."""
    from simulations.encoders.data import load_dataset
    from simulations.encoders.networks import ENCODER_INPUTS

    base = {"objective": "sigreg", "data": data, "encoder": encoder, "batch_size": 16}
    if data.startswith("cifar"):
        base["data_dir"] = str(tmp_path / "cifar")
    if data == "gaussian_mixture" and ENCODER_INPUTS[encoder] == "image":
        with pytest.raises(ValueError, match=f"encoder='{encoder}' needs .*images; "
                                             f"data='{data}' holds vectors"):
            TrainConfig(**base)
        return
    default = TrainConfig(**base)
    unused = unused_settings(default)
    stand_in = _stand_in(data, tmp_path)
    shapes = None
    for name, value in _SETTINGS.items():
        if name == "norm":
            value = "group" if encoder == "resnet18_tokens" else "batch"
        if name == "data_dir":
            value = str(tmp_path / "elsewhere")
        if name in unused:
            with pytest.raises(ValueError, match=re.escape(f"{name}={value!r} is not used by "
                                                           "this run") + ".*" +
                               (data if name == "data_dir" else encoder)):
                TrainConfig(**{**base, name: value})
            # assigned at all (even to its default) on the command line: refused too
            with pytest.raises(ValueError, match=f"{name}=.* is not used by this run"):
                config_from_assignments(base, [(name, getattr(default, name))])
            continue
        cfg = TrainConfig(**{**base, name: value})
        if name == "data_dir":              # read: the loader looks in the given folder
            with pytest.raises(ValueError, match="elsewhere"):
                load_dataset(cfg.data, data_dir=cfg.data_dir)
            continue
        shapes = _abstract_run(default, stand_in) if shapes is None else shapes
        assert _abstract_run(cfg, stand_in) != shapes, (encoder, data, name)
    assert set(unused) - {"warmup_start"} == (
        {"mlp": {"norm", "width"}, "digits_cnn": {"out_dim", "width"},
         "resnet18_tokens": {"out_dim"}}[encoder] | ({"data_dir"} if not
                                                      data.startswith("cifar") else set()))


def test_the_reported_ignored_settings_are_refused_on_the_command_line(tmp_path, capsys):
    from paper_repro.cli import main

    for setting, named in (("width=100000", "digits_cnn"), ("out_dim=100000000", "digits_cnn"),
                           ("norm=batch", "'mlp'"), ("warmup_start=0.5", "warm-up has 0")):
        out = tmp_path / "run"
        extra = ["--set", "encoder=mlp"] if setting.startswith("norm") else []
        extra += ["--set", "warmup_frac=0"] if setting.startswith("warmup") else []
        code = main(["train", "--objective", "sigreg", "--data", "digits", "--set", setting,
                     *extra, "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and setting.split("=")[0] in err and named in err, err
        assert not out.exists()


@pytest.mark.parametrize("augment, data, ok", [
    ("digits", "digits", True), ("digits", "cifar10", True), ("digits", "gaussian_mixture", False),
    ("cifar", "cifar100", True), ("cifar", "digits", False), ("cifar", "gaussian_mixture", False),
    ("noise", "digits", True), ("noise", "gaussian_mixture", True),
    ("none", "gaussian_mixture", True)])
def test_augmentations_refuse_data_they_cannot_transform(tmp_path, augment, data, ok):
    fields = dict(objective="sigreg", data=data, augment=augment, encoder="mlp")
    if data.startswith("cifar"):
        fields["data_dir"] = str(tmp_path)
    if ok:
        TrainConfig(**fields)
    else:
        with pytest.raises(ValueError, match=f"augment='{augment}' needs .*images; "
                                             f"data='{data}' holds"):
            TrainConfig(**fields)
