"""``collapse-lab train``: refusal of bad names and values before anything runs or is written,
and a tiny end-to-end run."""

import os

import pytest
import xarray as xr

from paper_repro.cli import main


@pytest.mark.parametrize("argv, message", [
    (["--objective", "simclr", "--data", "digits"], "objective='simclr'"),
    (["--objective", "sigreg", "--data", "mnist"], "data='mnist'"),
    (["--objective", "sigreg", "--data", "digits", "--set", "stepz=3"],
     "unknown training setting 'stepz'"),
    (["--objective", "sigreg", "--data", "digits", "--set", "lr=-1"], "lr=-1.0"),
    (["--objective", "sigreg", "--data", "digits", "--set", "dtype=float16"], "dtype='float16'"),
    (["--objective", "sigreg", "--data", "digits", "--set", "obj.lamda=0.1"], "lamda"),
    (["--objective", "sigreg", "--data", "digits", "--set", "steps"], "key=value"),
    (["--objective", "sigreg", "--data", "cifar10"], "data_dir=None"),
])
def test_train_refuses_before_writing(tmp_path, capsys, argv, message):
    out = tmp_path / "run"
    code = main(["train", *argv, "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_train_refuses_missing_cifar_files(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--objective", "sigreg", "--data", "cifar10", "--set",
                 f"data_dir={tmp_path}", "--out", str(out)])
    assert code == 2 and "missing CIFAR file" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("content, message", [
    (b"\x00garbage\xff" * 50, "is not readable as a pickle"),
    ([1, 2, 3], "holds a list"),
    ({b"labels": [0]}, "lacks b'data'"),
])
def test_train_bad_cifar_file_is_a_one_line_error(tmp_path, capsys, content, message):
    """A corrupt CIFAR file is `collapse-lab: error:` naming the file, exit 2."""
    import pickle

    import numpy as np

    from cifar_files import write_cifar_pickle

    x = np.zeros((10, 3, 32, 32), np.uint8)
    root = write_cifar_pickle(tmp_path / "data", x, np.zeros(10, int), x[:2], [0, 0])
    bad = os.path.join(root, "data_batch_2")
    with open(bad, "wb") as fh:
        fh.write(content) if isinstance(content, bytes) else pickle.dump(content, fh)
    out = tmp_path / "run"
    code = main(["train", "--objective", "sigreg", "--data", "cifar10", "--set",
                 f"data_dir={tmp_path / 'data'}", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and bad in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.slow
def test_train_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--objective", "sigreg", "--data", "digits", "--set", "encoder=mlp",
                 "--set", "steps=10", "--set", "steps_per_dispatch=5", "--set",
                 "batch_size=64", "--set", "obj.lam=0.05", "--out", str(out),
                 "--probe-epochs", "2"])
    assert code == 0
    metrics = xr.load_dataset(out / "metrics.nc")
    assert metrics.sizes["step"] == 10 and metrics.attrs["status"] == "complete"
    ev = xr.load_dataset(out / "eval.nc")
    assert set(ev.readout.values) == {"z", "q", "p"}
    # kNN of a briefly trained encoder is far above chance (0.1) on digits
    assert float(ev.knn_accuracy.sel(readout="z", k=20, vote="majority")) > 0.5
    assert "kNN@20" in capsys.readouterr().out
    # the latest checkpoint and the one before it (written after the first dispatch)
    assert sorted(os.listdir(out)) == ["checkpoint.eqx", "checkpoint.prev.eqx", "config.json",
                                       "eval.nc", "metrics.nc"]
