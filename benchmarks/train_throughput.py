"""Training throughput of the ResNet-18 token encoder at 32 px: HamJEPA and SIGReg steps against
a plain supervised step of the same encoder, in the same process.

    python benchmarks/train_throughput.py                      # CPU-sized defaults
    python benchmarks/train_throughput.py --batch-size 512 --dtype bfloat16 --steps 50   # GPU

What is measured (views/s = encoder forward+backward passes per second):
- ``hamjepa`` / ``sigreg``: the full training step of :mod:`simulations.encoders.train` --
  batch gather, two augmented views per image (JAX augmentations inside the jit), encoder on
  the 2B views, the objective, AdamW (+ clipping for HamJEPA); B images = 2B views per step.
- ``supervised``: the same encoder on 2B un-augmented images with a linear head on the pooled
  layer3 features and cross-entropy, AdamW: the same number of encoder passes, so the ratio
  step(SSL) / step(supervised) is what the objective and the augmentations cost (goal <= 1.3).

Data are synthetic CIFAR-shaped uint8 images (nothing is read or downloaded).  Compile time is
reported separately and excluded from the timings.  Expected runtime on 2 CPU cores with the
defaults: 2-4 minutes; on one H100/H200: about a minute.
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from simulations.encoders.config import TrainConfig
from simulations.encoders.data import CIFAR_MEAN, CIFAR_STD, Dataset
from simulations.encoders.networks import apply_encoder, build_encoder
from simulations.encoders.precision import as_dtype, cast_floating
from simulations.encoders.train import prepare


def synthetic_cifar(n: int, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 100, n).astype(np.int32)
    shape = (3, 1, 1)
    return Dataset("cifar100", x, y, x[:8], y[:8], 255.0,
                   np.asarray(CIFAR_MEAN, np.float32).reshape(shape),
                   np.asarray(CIFAR_STD, np.float32).reshape(shape), 100, "cifar")


def _time(dispatch, carry, x, n_dispatch):
    t0 = time.perf_counter()
    carry, logs = dispatch(carry, x)
    jax.block_until_ready((carry, logs))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n_dispatch):
        carry, logs = dispatch(carry, x)
    jax.block_until_ready((carry, logs))
    return compile_s, time.perf_counter() - t0, logs


def ssl_method(name, args, data):
    cfg = TrainConfig(objective=name, data="cifar100", data_dir="<synthetic>",
                      encoder="resnet18_tokens", dtype=args.dtype, batch_size=args.batch_size,
                      steps=args.steps_per_dispatch * (args.dispatches + 1),
                      steps_per_dispatch=args.steps_per_dispatch, width=args.width)
    dispatch, carry, x = prepare(cfg, data)
    compile_s, run_s, logs = _time(dispatch, carry, x, args.dispatches)
    assert np.all(np.isfinite(np.asarray(logs["loss"]))), f"{name}: non-finite loss"
    return compile_s, run_s


def supervised(args, data):
    cdt = as_dtype(args.dtype)
    key = jax.random.key(0, impl="rbg")
    encoder, state = build_encoder("resnet18_tokens", input_shape=(3, 32, 32), key=key,
                                   width=args.width)
    head = eqx.nn.Linear(4 * args.width, 100, key=jax.random.fold_in(key, 1),
                         dtype=jnp.float32)
    params, static = eqx.partition((encoder, head), eqx.is_inexact_array)
    opt = optax.adamw(1e-3, weight_decay=5e-4)
    n = 2 * args.batch_size          # as many encoder passes as the 2-view SSL step
    mean = jnp.asarray(data.mean, cdt)
    std = jnp.asarray(data.std, cdt)
    n_train = data.x_train.shape[0]
    ys = jnp.asarray(data.y_train)

    def step(carry, x_all):
        p, s, o, t = carry
        idx = jax.random.randint(jax.random.fold_in(key, t), (n,), 0, n_train)
        x = (x_all[idx].astype(cdt) / jnp.asarray(255.0, cdt) - mean) / std

        def loss_fn(p_):
            enc, hd = eqx.combine(p_, static)
            out, s_new = apply_encoder(cast_floating(enc, cdt), s, x)
            logits = jax.vmap(hd)(out["pooled"].astype(jnp.float32))
            return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, ys[idx])), s_new

        (loss, s_new), g = jax.value_and_grad(loss_fn, has_aux=True)(p)
        upd, o = opt.update(g, o, p)
        return (optax.apply_updates(p, upd), s_new, o, t + 1), {"loss": loss}

    @jax.jit
    def dispatch(carry, x_all):
        if args.steps_per_dispatch == 1:  # as the training loop: no while loop on CPU
            carry, logs = step(carry, x_all)
            return carry, jax.tree.map(lambda v: v[None], logs)
        return jax.lax.scan(lambda c, _: step(c, x_all), carry, None,
                            length=args.steps_per_dispatch)

    carry = (params, state, opt.init(params), jnp.zeros((), jnp.int32))
    compile_s, run_s, _ = _time(dispatch, carry, jnp.asarray(data.x_train), args.dispatches)
    return compile_s, run_s


def main(argv=None):
    on_gpu = jax.default_backend() != "cpu"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256 if on_gpu else 8,
                        help="images per step (2 views each)")
    parser.add_argument("--steps-per-dispatch", type=int, default=10 if on_gpu else 1,
                        help="steps per jitted dispatch (1 on CPU: XLA:CPU runs convolutions "
                             "inside a loop ~10x slower)")
    parser.add_argument("--dispatches", type=int, default=5 if on_gpu else 3,
                        help="timed dispatches after the compiling one")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"),
                        default="bfloat16" if on_gpu else "float32")
    parser.add_argument("--width", type=int, default=64, help="ResNet base width (64 = ResNet-18)")
    parser.add_argument("--methods", nargs="+", default=["supervised", "sigreg", "hamjepa"])
    args = parser.parse_args(argv)
    data = synthetic_cifar(max(4 * args.batch_size, 1024))
    steps = args.steps_per_dispatch * args.dispatches
    views = 2 * args.batch_size * steps
    print(f"backend {jax.default_backend()} ({len(jax.devices())} device(s): "
          f"{jax.devices()[0].device_kind}), dtype {args.dtype}, batch {args.batch_size} images "
          f"= {2 * args.batch_size} views/step, {steps} timed steps, ResNet-18 tokens @ 32 px")
    results = {}
    for name in args.methods:
        if name == "supervised":
            compile_s, run_s = supervised(args, data)
        else:
            compile_s, run_s = ssl_method(name, args, data)
        results[name] = run_s / steps
        print(f"{name:>10}: compile {compile_s:7.1f} s | step {1e3 * run_s / steps:9.2f} ms | "
              f"{views / run_s:10.1f} views/s", flush=True)
    if "supervised" in results:
        for name, t in results.items():
            if name != "supervised":
                print(f"{name:>10}: step time / supervised step = {t / results['supervised']:.2f}"
                      " (goal <= 1.3)")
    return results


if __name__ == "__main__":
    main()
