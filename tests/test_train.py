"""The training loop (simulations.encoders.train): loss decrease per objective, one compile,
precision under x64, checkpoint resume bit-identical to an uninterrupted run, config refusal."""

import dataclasses
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from simulations.encoders import objectives
from simulations.encoders.objectives import resolve_objective
from simulations.encoders.config import TrainConfig, config_from_assignments
from simulations.encoders.data import load_digits_split
from simulations.encoders.networks import apply_encoder
from simulations.encoders.precision import cast_floating
from simulations.encoders.train import CHECKPOINT, METRICS, encode, make_schedule, train

DIGITS = load_digits_split()
# tiny and fast: the MLP encoder on digits, two dispatches of 20 steps
TINY = dict(data="digits", encoder="mlp", out_dim=32, batch_size=64, steps=40,
            steps_per_dispatch=20, lr=2e-3, warmup_frac=0.0)
FAST = ("sigreg",)  # the rest (HamJEPA included) run with the slow tests


def _decreases(objective, **kw):
    fields = {**TINY, **kw}
    if fields["encoder"] != "mlp":      # the token encoders' output size is their token grid's
        del fields["out_dim"]
    result = train(TrainConfig(objective=objective, **fields), data=DIGITS, progress=False)
    loss = result.metrics["loss"].values
    assert result.metrics.attrs["status"] == "complete"
    assert np.all(np.isfinite(loss)) and loss.shape == (TINY["steps"],)
    assert loss[-5:].mean() < loss[:5].mean(), (objective, loss[:5], loss[-5:])
    return result


@pytest.mark.parametrize("objective", [
    pytest.param(name, marks=() if name in FAST else pytest.mark.slow)
    for name in objectives.OBJECTIVES])
def test_training_steps_reduce_the_loss(objective):
    result = _decreases(objective)
    assert result.n_traces == 1                   # two dispatches, one compiled program
    if objective == "hamjepa":
        _check_float32_under_x64(result)


def _check_float32_under_x64(result):
    """Parameters (encoder and f_phi), activations and every logged metric are float32 although
    x64 is on in the test process."""
    assert jax.config.jax_enable_x64
    leaves = jax.tree.leaves(eqx.filter((result.encoder, result.objective_module),
                                        eqx.is_inexact_array))
    assert {leaf.dtype for leaf in leaves} == {jnp.dtype(jnp.float32)}
    out, _ = apply_encoder(result.encoder, result.state,
                           jnp.asarray(DIGITS.standardised("test")[:8]))
    assert {v.dtype for v in out.values()} == {jnp.dtype(jnp.float32)}
    ds = result.metrics
    assert {ds[v].dtype for v in ds.data_vars} == {np.dtype(np.float32)}
    for name in ("pred", "budget", "var", "logdet", "mean", "std_l2", "grad_norm", "lr"):
        assert name in ds
    assert ds.attrs["objective"] == "hamjepa" and ds.attrs["encoder"] == "mlp"


@pytest.mark.slow
def test_bfloat16_compute_keeps_float32_master_weights_and_loss():
    # also the no-loop path of one step per dispatch (the CPU default)
    result = train(TrainConfig(objective="sigreg", dtype="bfloat16",
                               **{**TINY, "steps": 3, "steps_per_dispatch": 1}),
                   data=DIGITS, progress=False)
    assert result.n_traces == 1 and result.metrics.sizes["step"] == 3
    leaves = jax.tree.leaves(eqx.filter(result.encoder, eqx.is_inexact_array))
    assert {leaf.dtype for leaf in leaves} == {jnp.dtype(jnp.float32)}
    low = cast_floating(result.encoder, jnp.bfloat16)
    out, _ = apply_encoder(low, result.state,
                           jnp.asarray(DIGITS.standardised("test")[:8], jnp.bfloat16))
    assert out["z"].dtype == jnp.bfloat16
    assert np.all(np.isfinite(result.metrics["loss"].values))
    feats = encode(result.encoder, result.state, DIGITS.standardised("test")[:16],
                   dtype="bfloat16")
    assert feats["z"].dtype == np.float32 and feats["z"].shape == (16, 32)


@pytest.mark.slow
def test_resume_after_kill_is_bit_identical(tmp_path):
    cfg = TrainConfig(objective="sigreg", **{**TINY, "steps": 6, "steps_per_dispatch": 2,
                                             "checkpoint_every": 2})
    full = train(cfg, out_dir=str(tmp_path / "full"), data=DIGITS, progress=False)

    class Killed(Exception):
        pass

    def kill_at_4(step, logs):
        if step == 4:
            raise Killed

    run = str(tmp_path / "killed")
    with pytest.raises(Killed):
        train(cfg, out_dir=run, data=DIGITS, progress=False, callback=kill_at_4)
    assert os.path.exists(os.path.join(run, CHECKPOINT))
    assert not os.path.exists(os.path.join(run, METRICS))
    resumed = train(cfg, out_dir=run, data=DIGITS, progress=False)
    a = jax.tree.leaves(eqx.filter(full.encoder, eqx.is_array))
    b = jax.tree.leaves(eqx.filter(resumed.encoder, eqx.is_array))
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    np.testing.assert_array_equal(full.metrics["loss"].values, resumed.metrics["loss"].values)
    np.testing.assert_array_equal(resumed.metrics["step"].values, np.arange(1, 7))
    on_disk = xr.load_dataset(os.path.join(run, METRICS))
    np.testing.assert_array_equal(on_disk["loss"].values, full.metrics["loss"].values)
    # a different configuration in the same directory is refused
    with pytest.raises(ValueError, match="another configuration"):
        train(dataclasses.replace(cfg, lr=1e-3), out_dir=run, data=DIGITS, progress=False)


@pytest.mark.slow
def test_same_seed_same_run_other_seed_other_run():
    cfg = TrainConfig(objective="sigreg", **{**TINY, "steps": 4, "steps_per_dispatch": 2})
    a = train(cfg, data=DIGITS, progress=False).metrics["loss"].values
    b = train(cfg, data=DIGITS, progress=False).metrics["loss"].values
    c = train(dataclasses.replace(cfg, seed=1), data=DIGITS,
              progress=False).metrics["loss"].values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_schedule_warmup_and_cosine():
    cfg = TrainConfig(steps=100, steps_per_dispatch=10, lr=1e-3, warmup_frac=0.1)
    s = make_schedule(cfg)
    assert float(s(0)) == pytest.approx(1e-5)            # LinearLR from 0.01 x lr
    assert float(s(10)) == pytest.approx(1e-3)           # peak after 10 % of the steps
    assert float(s(100)) == pytest.approx(1e-6)          # cosine down to 1e-3 x lr
    assert float(s(55)) == pytest.approx(1e-6 + 0.5 * (1e-3 - 1e-6), rel=1e-6)


def test_clipping_is_per_method():
    assert TrainConfig(objective="hamjepa").clip == 1.0
    assert TrainConfig(objective="sigreg").clip is None       # the author baseline: no clip
    assert TrainConfig(objective="sigreg", clip_norm=1.0).clip == 1.0
    assert TrainConfig(objective="hamjepa", clip_norm=None).clip is None


@pytest.mark.parametrize("fields, message", [
    (dict(objective="simclr"), "objective='simclr'"),
    (dict(data="mnist"), "data='mnist'"),
    (dict(dtype="float64"), "dtype='float64'"),
    (dict(batch_size=1), "batch_size=1"),
    (dict(steps=10, steps_per_dispatch=3), "steps=10 must be a multiple"),
    (dict(lr=-1.0), "lr=-1.0"),
    (dict(warmup_frac=1.0), "warmup_frac=1.0"),
    (dict(clip_norm=0.0), "clip_norm=0.0"),
    (dict(data="cifar10"), "data_dir=None"),
    (dict(objective="sigreg", objective_options={"lamda": 0.1}), "lamda"),
    (dict(objective="hamjepa", objective_options={"preset": "tiny"}), "preset='tiny'"),
    (dict(objective="sigreg", objective_options={"preset": "imagenet"}), "preset"),
    (dict(objective="koleo"), "objective='koleo'"),        # registered, not trainable alone
    (dict(objective="model_a"), "objective='model_a'"),    # a label-embedding objective
])
def test_config_refuses_bad_values(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**fields)


def test_config_from_assignments():
    cfg = config_from_assignments({"objective": "hamjepa", "data": "digits"},
                                  [("steps", 20), ("steps_per_dispatch", 10), ("lr", 1),
                                   ("obj.lam_var", 1.0), ("clip_norm", "none")])
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float) and cfg.clip is None
    assert dict(cfg.objective_options) == {"lam_var": 1.0}
    with pytest.raises(ValueError, match="unknown training setting 'stepz'"):
        config_from_assignments({}, [("stepz", 3)])
    for twice in ([("steps", 20), ("steps", 30)], [("obj.lam", 0.1), ("objective.lam", 0.2)]):
        with pytest.raises(ValueError, match="is given twice"):
            config_from_assignments({"objective": "sigreg"}, twice)


def _phase_inputs(seed=0):
    rng = np.random.default_rng(seed)
    q, p = (jnp.asarray(rng.normal(size=(2, 6, 2, 4)), jnp.float32) for _ in range(2))
    return {"q": q, "p": p}


@pytest.mark.slow
def test_preset_by_name_selects_the_released_config():
    """``--set obj.preset=imagenet``: the trainer's HamJEPA loss is the function called with
    HAMJEPA_PRESETS["imagenet"] (run options still win over the preset)."""
    from minimal_models.objectives import hamjepa as hj

    cfg = config_from_assignments({"objective": "hamjepa", "data": "digits"},
                                  [("obj.preset", "imagenet"), ("obj.lam_mean", 0.1)])
    opts = dict(cfg.objective_options)
    outs = _phase_inputs()
    module = hj.init_hamjepa(jax.random.key(1), dim=8, hidden=8)
    loss = resolve_objective("hamjepa", data="digits", options=opts).loss(total_steps=30)
    step = jnp.asarray(29, jnp.int32)               # past the warm-up: s = 0.02
    got, logs = loss(module, outs, key=None, step=step)
    key = hj.projection_key(jax.random.key(0), step, refresh=16)
    want, _ = hj.hamjepa(module, outs["q"], outs["p"], key=key, logdet_k=32,
                         **{**hj.HAMJEPA_PRESETS["imagenet"], "lam_mean": 0.1},
                         residual_scale=jnp.float32(0.02))
    assert float(got) == float(want)
    default, _ = resolve_objective("hamjepa", data="digits").loss(total_steps=30)(
        module, outs, key=None, step=step)
    assert float(default) != float(got)
    assert float(logs["var"]) == float(logs["var_q"])           # imagenet: var_on="q"


def test_residual_scale_ramp_is_the_schedule():
    """The trainer's warm-up of HamJEPA's residual scale is residual_scale_schedule with the
    1-based step as its clock over rs_warmup_frac of the run (default 10/30)."""
    from minimal_models.objectives import hamjepa as hj

    outs = _phase_inputs(1)
    module = hj.init_hamjepa(jax.random.key(2), dim=8, hidden=8)
    # a large f_phi weight so that the residual scale moves the loss visibly
    module = jax.tree.map(lambda a: 30 * a if eqx.is_inexact_array(a) else a, module)
    total = 60
    loss = resolve_objective("hamjepa", data="digits",
                             options={"lam_logdet": 0.0}).loss(total_steps=total)
    seen = set()
    for step in (0, 4, 19, 40):
        got, _ = loss(module, outs, key=None, step=jnp.asarray(step, jnp.int32))
        s = hj.residual_scale_schedule(jnp.float32(step + 1), warmup_epochs=total * 10 / 30)
        want, _ = hj.hamjepa(module, outs["q"], outs["p"], lam_logdet=0.0, residual_scale=s)
        assert float(got) == float(want), step
        seen.add(float(got))
    assert len(seen) == 3            # ramps over 20 steps, then constant (steps 19 and 40)


def test_batch_larger_than_data_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="batch_size=2000"):
        train(TrainConfig(batch_size=2000, steps=10), out_dir=str(tmp_path / "x"),
              data=DIGITS, progress=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_hamjepa_trains_the_digits_token_cnn():
    result = _decreases("hamjepa", encoder="digits_cnn")
    assert result.objective_module is not None


@pytest.mark.slow
def test_two_devices_shard_the_batch_and_agree_with_one(tmp_path):
    """The same run on 2 (virtual CPU) devices: the batch is sharded, the result matches the
    1-device run to float32 round-off (the reduction order differs)."""
    import subprocess
    import sys

    code = (
        "import os, sys, numpy as np, jax\n"
        "from simulations.encoders.config import TrainConfig\n"
        "from simulations.encoders.train import train\n"
        "cfg = TrainConfig(objective='vicreg', data='digits', encoder='mlp', out_dim=32,"
        " batch_size=64, steps=4, steps_per_dispatch=2, prng_impl='threefry2x32')\n"
        "r = train(cfg, progress=False)\n"
        "np.save(sys.argv[1], r.metrics['loss'].values)\n"
        "print(len(jax.devices()))\n")
    out = {}
    for n in (1, 2):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}")
        path = str(tmp_path / f"loss{n}.npy")
        res = subprocess.run([sys.executable, "-c", code, path], env=env, capture_output=True,
                             text=True, timeout=600, check=True)
        assert res.stdout.strip().splitlines()[-1] == str(n)
        out[n] = np.load(path)
    np.testing.assert_allclose(out[2], out[1], rtol=1e-4)


@pytest.mark.slow
def test_seeds_share_one_compiled_step_and_still_differ():
    """The PRNG root is an argument of the compiled dispatch: a second seed of the same
    configuration compiles nothing, yet draws its own initialisation, batches and views."""
    cfg = TrainConfig(objective="vicreg", **{**TINY, "steps": 4, "steps_per_dispatch": 2})
    first = train(cfg, data=DIGITS, progress=False)
    second = train(dataclasses.replace(cfg, seed=1), data=DIGITS, progress=False)
    again = train(cfg, data=DIGITS, progress=False)
    assert first.n_traces == 1 and second.n_traces == 0 and again.n_traces == 0
    a, b, c = (jax.tree.leaves(eqx.filter(r.encoder, eqx.is_inexact_array))
               for r in (first, second, again))
    assert not all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(np.array_equal(x, y) for x, y in zip(a, c))  # same seed: same run
    np.testing.assert_array_equal(first.metrics["loss"], again.metrics["loss"])


# --- checkpoints by default, SIGKILL resume, memory refusal ----------------------------------

_KILL_SCRIPT = (
    "import sys\n"
    "from simulations.encoders.config import TrainConfig\n"
    "from simulations.encoders.train import train\n"
    "cfg = TrainConfig(objective='sigreg', data='digits', encoder='mlp', out_dim=32,"
    " batch_size=64, steps=int(sys.argv[2]))\n"          # every checkpoint setting at default
    "train(cfg, out_dir=sys.argv[1], progress=False,"
    " callback=lambda step, logs: print(step, flush=True))\n")


def _run_train_process(out_dir, steps, kill_at=None):
    """Run the script; with ``kill_at``, SIGKILL it as soon as it reports that step.  Returns
    the steps it reported."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(out_dir), str(steps)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seen = []
    for line in proc.stdout:
        seen.append(int(line))
        if kill_at is not None and seen[-1] >= kill_at:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=600)
    proc.stdout.close()
    assert (proc.returncode == -signal.SIGKILL) if kill_at is not None else \
        proc.returncode == 0, proc.returncode
    return seen


@pytest.mark.slow
def test_sigkill_at_a_random_step_resumes_bit_identical_with_default_settings(tmp_path):
    """Default settings (no checkpoint option), SIGKILL at a random step, rerun:
    the final checkpoint (parameters, optimiser state, step) equals the uninterrupted run's
    byte for byte and the metrics agree."""
    steps = 300
    kill_at = int(np.random.default_rng().integers(20, 250))
    full, run = tmp_path / "full", tmp_path / "killed"
    _run_train_process(full, steps)
    seen = _run_train_process(run, steps, kill_at=kill_at)
    assert seen[-1] >= kill_at
    assert os.path.exists(run / CHECKPOINT), "no checkpoint before the kill by default"
    assert not os.path.exists(run / METRICS)
    resumed = _run_train_process(run, steps)
    assert resumed[0] > 1, "the rerun started from step 0: nothing was resumed"
    assert resumed[-1] == steps
    assert (run / CHECKPOINT).read_bytes() == (full / CHECKPOINT).read_bytes(), kill_at
    a, b = xr.load_dataset(full / METRICS), xr.load_dataset(run / METRICS)
    np.testing.assert_array_equal(a["loss"].values, b["loss"].values)
    np.testing.assert_array_equal(b["step"].values, np.arange(1, steps + 1))


def test_checkpoint_schedule_doubles_up_to_checkpoint_seconds():
    from simulations.encoders.checkpoint import checkpoint_due as _checkpoint_due

    cfg = TrainConfig(steps=100)
    assert cfg.checkpoint_seconds == 60.0 and cfg.checkpoint_every == 0
    assert _checkpoint_due(cfg, 1, 5.0, None)                  # the first dispatch
    assert not _checkpoint_due(cfg, 2, 9.9, 5.0)               # interval = elapsed at last (5 s)
    assert _checkpoint_due(cfg, 2, 10.0, 5.0)
    assert not _checkpoint_due(cfg, 9, 159.0, 100.0)           # capped at 60 s
    assert _checkpoint_due(cfg, 9, 160.0, 100.0)
    off = TrainConfig(steps=100, checkpoint_seconds=0.0)
    assert not _checkpoint_due(off, 1, 5.0, None)
    steps = TrainConfig(steps=100, checkpoint_seconds=0.0, checkpoint_every=10)
    assert _checkpoint_due(steps, 10, 0.0, None) and not _checkpoint_due(steps, 11, 0.0, None)
    with pytest.raises(ValueError, match="checkpoint_seconds=-1"):
        TrainConfig(checkpoint_seconds=-1.0)


@pytest.mark.slow
def test_checkpoints_off_leave_nothing_to_resume_and_settings_may_change(tmp_path):
    cfg = TrainConfig(objective="sigreg", **{**TINY, "steps": 4, "steps_per_dispatch": 2,
                                             "checkpoint_seconds": 0.0})

    class Killed(Exception):
        pass

    def kill(step, logs):
        raise Killed

    with pytest.raises(Killed):
        train(cfg, out_dir=str(tmp_path), data=DIGITS, progress=False, callback=kill)
    assert not os.path.exists(tmp_path / CHECKPOINT)
    # the default (time-based) schedule writes one after the first dispatch
    with pytest.raises(Killed):
        train(dataclasses.replace(cfg, checkpoint_seconds=60.0), out_dir=str(tmp_path),
              data=DIGITS, progress=False, callback=kill)
    assert os.path.exists(tmp_path / CHECKPOINT)


def _broadcast_cifar(n):
    """A CIFAR-shaped data set of n images that takes no memory (a broadcast view)."""
    from simulations.encoders.data import CIFAR_MEAN, CIFAR_STD, Dataset

    x = np.broadcast_to(np.zeros((1, 3, 32, 32), np.uint8), (n, 3, 32, 32))
    y = np.broadcast_to(np.zeros(1, np.int32), (n,))
    return Dataset("cifar10", x, y, x[:10], y[:10], 255.0,
                   np.asarray(CIFAR_MEAN, np.float32).reshape(3, 1, 1),
                   np.asarray(CIFAR_STD, np.float32).reshape(3, 1, 1), 10, "cifar")


def test_absurd_batch_is_refused_fast_before_anything_is_written(tmp_path):
    import time

    n = 1_000_000
    cfg = TrainConfig(objective="sigreg", data="cifar10", data_dir=str(tmp_path),
                      batch_size=n, steps=10)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"batch_size=1000000: this run cannot fit: .*"
                                         r"use batch_size <= \d+"):
        train(cfg, out_dir=str(tmp_path / "x"), data=_broadcast_cifar(n), progress=False)
    assert time.perf_counter() - t0 < 20          # traced, not compiled
    assert not (tmp_path / "x").exists()


def test_memory_estimate_is_linear_in_the_batch_and_hints_a_batch_that_fits():
    import importlib

    T = importlib.import_module("simulations.encoders.train")
    small = T.estimate_memory(TrainConfig(objective="sigreg", encoder="mlp", batch_size=64),
                              DIGITS)
    big = T.estimate_memory(TrainConfig(objective="sigreg", encoder="mlp", batch_size=256),
                            DIGITS)
    assert small.params == big.params > 0 and big.optimiser == 3 * big.params
    assert big.activations == pytest.approx(4 * small.activations, rel=0.05)
    small.check()
    tight = dataclasses.replace(big, available=big.total - big.activations // 2)
    with pytest.raises(ValueError, match="use batch_size <= 12[0-9]"):
        tight.check()


@pytest.mark.slow
def test_memory_estimate_is_within_a_factor_two_of_xla():
    """The activation estimate against XLA's own buffer assignment of the compiled step."""
    import importlib

    T = importlib.import_module("simulations.encoders.train")
    cfg = TrainConfig(objective="sigreg", encoder="mlp", batch_size=256)
    est = T.estimate_memory(cfg, DIGITS)
    mesh, _ = T._mesh()
    dyn, static, mstate, opt = T._init(cfg, DIGITS)
    carry = T._initial_carry(cfg, dyn, mstate, opt)
    fn, _ = T._new_dispatch(cfg, DIGITS, static, opt, mesh)
    xla = fn.lower(carry, jnp.asarray(DIGITS.x_train),
                   jax.random.key(0, impl=cfg.prng_impl)).compile().memory_analysis()
    assert 0.5 < est.activations / xla.temp_size_in_bytes < 2.0


def test_compiled_dispatches_are_a_bounded_least_recently_used_cache(monkeypatch):
    """A process that trains many configurations keeps at most DISPATCH_CACHE_SIZE compiled
    programs (each holds XLA code in memory maps; unbounded, the slow suite reached the
    kernel's map limit and segfaulted inside a compile)."""
    import sys

    T = sys.modules["simulations.encoders.train"]
    built = []
    monkeypatch.setattr(T, "_DISPATCH_CACHE", type(T._DISPATCH_CACHE)())
    monkeypatch.setattr(T, "DISPATCH_CACHE_SIZE", 2)
    monkeypatch.setattr(T, "_new_dispatch", lambda config, *a: built.append(config.lr) or
                        config.lr)
    cfg = {lr: TrainConfig(objective="sigreg", encoder="mlp", lr=lr) for lr in (1e-3, 2e-3, 3e-3)}

    def build(lr):
        return T._build_dispatch(cfg[lr], DIGITS, None, None, None)

    assert [build(1e-3), build(2e-3), build(1e-3)] == [1e-3, 2e-3, 1e-3] and built == [1e-3, 2e-3]
    build(3e-3)   # evicts 2e-3, the least recently used, and keeps 1e-3
    assert len(T._DISPATCH_CACHE) == 2 and built == [1e-3, 2e-3, 3e-3]
    build(1e-3)
    build(2e-3)   # built again
    assert built == [1e-3, 2e-3, 3e-3, 2e-3]
