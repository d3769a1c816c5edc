"""The objective registry: one live mapping read by the trainers, the CLI and the tests; every
entry runs through its calling convention and refuses batches it cannot score; adding an
objective is one registration (a call, a decorator or an entry point) that reaches the
trainer and ``collapse-lab train --help``."""

import inspect
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from minimal_models.objectives import registry

KEY = jax.random.PRNGKey(0)


def _call(entry, n, *, seed=0):
    """``entry.fn`` called by its convention on a batch of ``n`` samples per view; returns
    ``(loss, logs)`` (logs None for the label kinds, whose losses define gradient flows)."""
    rng = np.random.default_rng(seed)
    z1, z2 = (jnp.asarray(rng.normal(size=(n, 4)), jnp.float32) for _ in range(2))
    kind = entry.kind
    if kind == "two_view":
        return entry.fn(z1, z2)
    if kind == "predictor":
        return entry.fn(z1, z2, z2, z1)
    if kind == "views":
        return entry.fn(jnp.stack([z1, z2]))
    if kind == "views_key":
        return entry.fn(jnp.stack([z1, z2]), key=KEY, num_slices=8)
    if kind == "phase_space":
        q, p = (jnp.asarray(rng.normal(size=(2, n, 2, 4)), jnp.float32) for _ in range(2))
        module = entry.init(KEY, dim=8 if entry.init_on == "q" else 16, hidden=8)
        return entry.fn(module, q, p, key=KEY)
    if kind in ("label", "label_head"):
        # the minimal models' losses return the loss alone (they define gradient flows)
        A = jax.nn.one_hot(jnp.arange(n) % 3, 3, dtype=jnp.float32)
        Y = jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)
        W = jnp.eye(4, dtype=jnp.float32)
        return (entry.fn(z1, Y, A) if kind == "label" else entry.fn(z1, Y, W, A)), None
    assert kind == "single"
    return entry.fn(z1)


def test_registry_names_and_kinds():
    """One registry: every entry's function takes the positional arguments its ``kind`` names;
    the package, the encoder trainer and the label experiments all read the same entries."""
    import minimal_models.objectives as objectives
    from minimal_models.objectives import collapse_models as cm
    from minimal_models.objectives import redundancy as rd
    from simulations.encoders import label_noise
    from simulations.encoders import objectives as adapter

    first = {"two_view": ["z1", "z2"], "predictor": ["p1", "p2", "z1", "z2"],
             "views": ["views"], "views_key": ["views", "directions"],
             "phase_space": ["module", "q", "p"], "single": ["x"], "label": ["X", "Y", "A"],
             "label_head": ["X", "Y", "W", "A"]}
    assert set(first) == set(registry.KINDS)
    for name, obj in registry.OBJECTIVES.items():
        assert obj.name == name
        params = [n for n, prm in inspect.signature(obj.fn).parameters.items()
                  if prm.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
        assert params == first[obj.kind], name
        assert (obj.init is not None) == (obj.kind == "phase_space"), name
    assert registry.get_objective("vicreg").fn is rd.vicreg
    assert registry.get_objective("model_b").fn is cm.model_b_loss
    with pytest.raises(ValueError, match="objective="):
        registry.get_objective("simclr")
    # the same mapping everywhere: no second registry
    assert objectives.OBJECTIVES is registry.OBJECTIVES
    assert objectives.get_objective is registry.get_objective
    for name, entry in adapter.OBJECTIVES.items():
        assert entry is registry.OBJECTIVES[name]
    # the names ``collapse-lab train --objective`` has always accepted
    assert {"sigreg", "lejepa", "hamjepa", "mlp_hjepa", "hypersolid", "vicreg", "barlow_twins",
            "nt_xent", "mmcr", "mcr2", "byol", "simsiam"} <= set(adapter.OBJECTIVES)
    assert not {"koleo", "model_a", "model_b"} & set(adapter.OBJECTIVES)
    assert label_noise.OBJECTIVES == ("model_a", "model_b")
    assert registry.names_of_kind("label", "label_head") == label_noise.OBJECTIVES
    with pytest.raises(ValueError, match="kinds"):
        registry.names_of_kind("pair")


@pytest.mark.slow
def test_registry_calling_conventions():
    """Every registered objective runs through the convention its ``kind`` names."""
    for name, obj in registry.OBJECTIVES.items():
        loss, logs = _call(obj, 6)
        assert loss.dtype == jnp.float32 and np.isfinite(float(loss)), name
        if logs is not None:
            assert float(logs["loss"]) == float(loss), name


# ------------------------------------------------------------------ degenerate batches

@pytest.mark.slow
@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.parametrize("name", list(registry.OBJECTIVES))
def test_objectives_refuse_batches_they_cannot_score(name, n):
    """Below its ``min_batch`` an objective raises ``ValueError`` naming itself and the
    minimum (no NaN, no ZeroDivisionError, no number without meaning); at and above it, the
    loss is finite."""
    entry = registry.OBJECTIVES[name]
    if n < entry.min_batch:
        with pytest.raises(ValueError, match=f"N >= {entry.min_batch}") as info:
            _call(entry, n)
        message = str(info.value)
        assert name in message or entry.fn.__name__ in message, message
        assert f"N={n}" in message
    else:
        assert np.isfinite(float(_call(entry, n)[0])), (name, n)


def test_min_batch_is_the_functions_own_limit():
    """The registry's ``min_batch`` is the smallest batch each function accepts (so the
    trainer's ``batch_size`` check and the function agree)."""
    assert {n: e.min_batch for n, e in registry.OBJECTIVES.items() if e.min_batch != 2} == \
        {"byol": 1, "simsiam": 1, "model_a": 1, "model_b": 1}
    from simulations.encoders.config import TrainConfig

    with pytest.raises(ValueError, match="batch_size=1"):
        TrainConfig(objective="byol", batch_size=1)
    registry.register_objective("quads_toy", _spread, kind="views", min_batch=4)
    try:
        with pytest.raises(ValueError, match="batch_size=3: objective 'quads_toy' needs a batch "
                                             "of at least 4"):
            TrainConfig(objective="quads_toy", batch_size=3)
        TrainConfig(objective="quads_toy", batch_size=4)
    finally:
        registry.unregister_objective("quads_toy")


# ------------------------------------------------------------------------- registration

def _spread(views, *, weight=1.0):
    """A toy objective: views agree, and the batch spreads (variance towards 1)."""
    from minimal_models.objectives import _common as c

    views = c.as_work(views)
    c.require_batch("spread", views.shape[1], 2)
    inv = jnp.mean((views[0] - views[1]) ** 2)
    var = jnp.mean((jnp.var(views, axis=1) - 1.0) ** 2)
    return c.finish(inv + weight * var, {"inv": inv, "var": var})


@pytest.fixture
def spread():
    entry = registry.register_objective("spread", _spread, kind="views",
                                        description="toy: agreement + unit variance")
    yield entry
    registry.unregister_objective("spread")


@pytest.mark.slow
def test_a_registered_objective_trains_and_is_offered(spread, capsys):
    """One registration reaches the registry, TrainConfig (its keywords checked), the trainer
    (two steps) and ``collapse-lab train --help``."""
    from paper_repro.cli import main
    from simulations.encoders import objectives as adapter
    from simulations.encoders.config import TrainConfig
    from simulations.encoders.data import load_digits_split
    from simulations.encoders.train import train

    assert registry.get_objective("spread") is spread and "spread" in adapter.OBJECTIVES
    with pytest.raises(ValueError, match="weigth"):
        TrainConfig(objective="spread", objective_options={"weigth": 2.0})
    cfg = TrainConfig(objective="spread", data="digits", encoder="mlp", out_dim=8,
                      batch_size=32, steps=2, objective_options={"weight": 0.5})
    result = train(cfg, data=load_digits_split(), progress=False)
    assert result.metrics.attrs["status"] == "complete"
    assert result.metrics.sizes["step"] == 2 and {"inv", "var"} <= set(result.metrics)
    assert np.all(np.isfinite(result.metrics["loss"].values))
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "spread" in capsys.readouterr().out


def test_decorator_and_refusals():
    @registry.register_objective("pairs_toy", kind="two_view", status="RECONSTRUCTION")
    def pairs_toy(z1, z2):
        return jnp.mean((z1 - z2) ** 2), {}

    try:
        assert registry.OBJECTIVES["pairs_toy"].fn is pairs_toy
        with pytest.raises(ValueError, match="already registered"):
            registry.register_objective("pairs_toy", pairs_toy, kind="two_view")
        registry.register_objective("pairs_toy", pairs_toy, kind="views", replace=True)
        assert registry.OBJECTIVES["pairs_toy"].kind == "views"
    finally:
        registry.unregister_objective("pairs_toy")
    assert "pairs_toy" not in registry.OBJECTIVES
    for fields, message in [(dict(kind="pairs"), "kind='pairs'"),
                            (dict(kind="views", min_batch=0), "min_batch=0"),
                            (dict(kind="views", status="GUESS"), "status='GUESS'"),
                            (dict(kind="views", init=lambda key, dim: None), "init")]:
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            registry.register_objective("bad_toy", _spread, **fields)
    with pytest.raises(ValueError, match="identifier"):
        registry.register_objective("two words", _spread, kind="views")
    with pytest.raises(ValueError, match="objective="):
        registry.unregister_objective("never_registered")


def test_entry_point_objectives_are_loaded_on_first_read(tmp_path, monkeypatch):
    """A package adds objectives through the ``collapse_lab.objectives`` entry points, read
    when the registry is first read; a broken one warns and is skipped."""
    import importlib.metadata as md

    (tmp_path / "toy_plugin.py").write_text(textwrap.dedent("""
        import jax.numpy as jnp
        from minimal_models.objectives.registry import Objective

        def plugin_loss(z1, z2, *, scale=1.0):
            return scale * jnp.mean((z1 - z2) ** 2), {}

        TOY = Objective("plugin_toy", plugin_loss, "two_view", description="from a plugin")
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    group = registry.ENTRY_POINT_GROUP
    points = [md.EntryPoint("plugin_toy", "toy_plugin:TOY", group),
              md.EntryPoint("broken", "no_such_module_here:X", group)]

    def entry_points(*, group):
        return [p for p in points if p.group == group]

    monkeypatch.setattr(md, "entry_points", entry_points)
    monkeypatch.setattr(registry.OBJECTIVES, "_plugins_loaded", False)
    try:
        with pytest.warns(RuntimeWarning, match="'broken'"):
            names = list(registry.OBJECTIVES)
        assert "plugin_toy" in names and "vicreg" in names
        from simulations.encoders import objectives as adapter
        from simulations.encoders.config import TrainConfig

        assert "plugin_toy" in adapter.OBJECTIVES
        assert dict(TrainConfig(objective="plugin_toy", objective_options={"scale": 2.0})
                    .objective_options) == {"scale": 2.0}
    finally:
        registry.unregister_objective("plugin_toy")
        sys.modules.pop("toy_plugin", None)
