"""Training throughput of the ResNet-18 token encoder at 32 px, ours (JAX/XLA) against a PyTorch
baseline of the same network timed interleaved in the same run, at equal thread counts.

    python benchmarks/train_throughput.py                 # CPU: 1 and 2 threads, batches 8, 32
    python benchmarks/train_throughput.py --quick         # smoke test (seconds, not minutes)
    python benchmarks/train_throughput.py --sides jax     # ours only (no PyTorch installed)
    python benchmarks/train_throughput.py --batch-sizes 256 --dtype bfloat16   # GPU, bf16

PyTorch is an optional extra (``pip install -e '.[bench]'``, in its own virtualenv); without it
the PyTorch columns are empty and the last line reads ``ratio nan``.

What is timed (forward + backward + AdamW, no data loading; views/s = encoder passes per second):

- ``supervised``: the encoder on 2B images (as many encoder passes as a 2-view SSL step of B
  images), a linear head 4w -> 100 on the pooled layer3 features, cross-entropy, AdamW.
- ``sigreg``: the same encoder on 2 x B views, the HamJEPA author's SIGReg baseline
  (1/2 inv + 0.02 SIGReg, 64 fresh random slices, 9-knot grid) on z, AdamW.  Ours is
  :mod:`minimal_models.objectives.normality` through the trainer's objective adapter; the
  PyTorch one is written here from the same definition.
- ``conv``: one 3x3 convolution 128 -> 128 on a 16 x 16 map (layer2's shape), forward and both
  gradients: the minimal case that separates the convolution kernels from everything else
  (ours channels-last as in networks.py, PyTorch in its default NCHW).
- ``trainer_sigreg`` / ``trainer_hamjepa`` (ours only): the full step of
  :mod:`simulations.encoders.train` -- batch gather, two augmented views inside the jit, the
  objective, AdamW (+ clipping for HamJEPA); its ratio to ``supervised`` is what the objective
  and the augmentations cost (goal <= 1.3).

The PyTorch trunk is torchvision's ``BasicBlock`` (CIFAR stem 3x3/1 without max-pool, layers
1-3, 1x1 token projection 4w -> 32 without bias + BatchNorm, per-token q/p split); the parameter
counts of both trunks are checked to agree (2,783,360 at width 64) and printed.

Threads: each side runs in its own process per thread count N, pinned to the same N cores
(``sched_setaffinity``); PyTorch gets ``torch.set_num_threads(N)``, XLA ``NPROC=N`` (its CPU
client's thread-pool size) and ``--xla_cpu_multi_thread_eigen=false`` when N = 1.  The two
processes are timed alternately (``--repeats`` rounds of ``--steps`` steps each), so both see the
same machine load; medians and the min-max spread are printed.  ``compile`` is the first step
(tracing + XLA compilation for ours, the first eager step for PyTorch).  ``cores`` is process
CPU time / wall time over the timed steps.

The last line is ``ratio R``: PyTorch step time / ours, supervised, 2 threads, batch 32 (or the
last thread count and batch run).  Expected runtime on 2 idle CPU cores with the defaults: 5-10
minutes; ``--quick``: under a minute.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time

import numpy as np

# Nothing here imports jax or torch at module level: the worker processes set their threads
# (XLA reads its flags once, at backend start) before the import.

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, ROOT)

D_F = 32                 # token channels (q: 16, p: 16 per token)
N_CLASSES = 100
LR, WEIGHT_DECAY = 1e-3, 5e-4
NUM_SLICES, LAM = 64, 0.02   # the HamJEPA author's SIGReg baseline
EP_T_MAX, EP_KNOTS = 3.0, 9
CONV_CH, CONV_HW = 128, 16

TORCH_METHODS = ("supervised", "sigreg", "conv")
JAX_METHODS = TORCH_METHODS + ("trainer_sigreg", "trainer_hamjepa")


def _images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standardised float32 'images' (n, 3, 32, 32) and labels, the same on both sides."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 3, 32, 32), dtype=np.float32),
            rng.integers(0, N_CLASSES, n).astype(np.int64))


# ----------------------------------------------------------------------------------------------
# ours: JAX
# ----------------------------------------------------------------------------------------------

def synthetic_cifar(n: int, seed: int = 0):
    """A CIFAR-100-shaped :class:`~simulations.encoders.data.Dataset` of random uint8 images."""
    from simulations.encoders.data import CIFAR_MEAN, CIFAR_STD, Dataset

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, N_CLASSES, n).astype(np.int32)
    shape = (3, 1, 1)
    return Dataset("cifar100", x, y, x[:8], y[:8], 255.0,
                   np.asarray(CIFAR_MEAN, np.float32).reshape(shape),
                   np.asarray(CIFAR_STD, np.float32).reshape(shape), N_CLASSES, "cifar")


def jax_param_count(width: int = 64) -> int:
    """Trainable parameters of our ResNet18Tokens trunk (no head), without compiling."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from simulations.encoders.networks import build_encoder

    enc, _ = eqx.filter_eval_shape(
        lambda: build_encoder("resnet18_tokens", input_shape=(3, 32, 32),
                              key=jax.random.key(0), width=width, d_f=D_F))
    leaves = [leaf for leaf in jax.tree.leaves(enc)
              if isinstance(leaf, jax.ShapeDtypeStruct) and jnp.issubdtype(leaf.dtype, jnp.inexact)]
    return int(sum(math.prod(leaf.shape) for leaf in leaves))


class JaxSide:
    """Our training steps; ``setup(method, batch)`` compiles one (returns the first-dispatch
    seconds), ``run(steps)`` times ``steps`` more (returns seconds)."""

    name = "jax"

    def __init__(self, *, width: int = 64, dtype: str = "float32"):
        import jax

        self.width, self.dtype = width, dtype
        self.device = f"{jax.default_backend()} ({jax.devices()[0].device_kind})"
        self._step = self._carry = self._args = None

    def param_count(self) -> int:
        return jax_param_count(self.width)

    def setup(self, method: str, batch: int) -> float:
        import jax

        if method not in JAX_METHODS:
            raise ValueError(f"method={method!r} is not one of {JAX_METHODS}")
        self._step = self._carry = self._args = None
        if method.startswith("trainer_"):
            self._trainer(method[len("trainer_"):], batch)
        elif method == "conv":
            self._conv(batch)
        else:
            self._encoder_step(method, batch)
        t0 = time.perf_counter()
        self._carry, logs = self._step(self._carry, *self._args)
        jax.block_until_ready((self._carry, logs))
        self.last_loss = float(np.asarray(logs["loss"]).reshape(-1)[-1])
        return time.perf_counter() - t0

    def run(self, steps: int) -> float:
        import jax

        t0 = time.perf_counter()
        for _ in range(steps):
            self._carry, logs = self._step(self._carry, *self._args)
        jax.block_until_ready((self._carry, logs))
        self.last_loss = float(np.asarray(logs["loss"]).reshape(-1)[-1])
        return time.perf_counter() - t0

    def _trainer(self, objective: str, batch: int):
        from simulations.encoders.config import TrainConfig
        from simulations.encoders.train import prepare

        cfg = TrainConfig(objective=objective, data="cifar100", data_dir="<synthetic>",
                          encoder="resnet18_tokens", dtype=self.dtype, batch_size=batch,
                          steps=10_000, steps_per_dispatch=1, width=self.width)
        dispatch, carry, x = prepare(cfg, synthetic_cifar(max(4 * batch, 64)))
        self._step, self._carry, self._args = dispatch, carry, (x,)

    def _conv(self, batch: int):
        import jax
        import jax.numpy as jnp

        from simulations.encoders.precision import as_dtype

        cdt = as_dtype(self.dtype)
        k1, k2 = jax.random.split(jax.random.key(0))
        # channels-last activations, (O, I, kh, kw) kernel: the layout networks.py uses
        x = jax.random.normal(k1, (2 * batch, CONV_HW, CONV_HW, CONV_CH), jnp.float32)
        w = jax.random.normal(k2, (CONV_CH, CONV_CH, 3, 3), jnp.float32) / 34.0

        def loss(x, w):
            y = jax.lax.conv_general_dilated(x.astype(cdt), w.astype(cdt), (1, 1), "SAME",
                                             dimension_numbers=("NHWC", "OIHW", "NHWC"))
            return jnp.sum(y.astype(jnp.float32) ** 2)

        @jax.jit
        def step(w, x):
            val, (gx, gw) = jax.value_and_grad(loss, argnums=(0, 1))(x, w)
            # keep the input gradient alive (the backward of a real layer needs it)
            return w - 1e-6 * gw + 0.0 * jnp.sum(gx), {"loss": val}

        self._step, self._carry, self._args = step, w, (x,)

    def _encoder_step(self, method: str, batch: int):
        import equinox as eqx
        import jax
        import jax.numpy as jnp
        import optax

        from simulations.encoders.networks import apply_encoder, build_encoder
        from simulations.encoders.objectives import resolve_objective
        from simulations.encoders.precision import as_dtype, cast_floating

        cdt = as_dtype(self.dtype)
        key = jax.random.key(0, impl="rbg")
        encoder, state = build_encoder("resnet18_tokens", input_shape=(3, 32, 32), key=key,
                                       width=self.width, d_f=D_F)
        head = eqx.nn.Linear(4 * self.width, N_CLASSES, key=jax.random.fold_in(key, 1),
                             dtype=jnp.float32)
        params, static = eqx.partition((encoder, head), eqx.is_inexact_array)
        opt = optax.adamw(LR, weight_decay=WEIGHT_DECAY)
        x_np, y_np = _images(2 * batch)
        x, y = jnp.asarray(x_np), jnp.asarray(y_np.astype(np.int32))
        sigreg = resolve_objective("sigreg", data="cifar100").loss(total_steps=1)

        def loss_fn(p, s, x, y, t):
            enc, hd = eqx.combine(p, static)
            out, s_new = apply_encoder(cast_floating(enc, cdt), s, x.astype(cdt))
            if method == "supervised":
                logits = jax.vmap(hd)(out["pooled"].astype(jnp.float32))
                loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, y))
            else:
                z = out["z"].reshape(2, batch, -1)           # (V, B, D): views 0 and 1
                loss, _ = sigreg(None, {"z": z}, key=jax.random.fold_in(key, t), step=t)
            return loss.astype(jnp.float32), s_new

        def step(carry, x, y):
            p, s, o, t = carry
            (loss, s_new), g = jax.value_and_grad(loss_fn, has_aux=True)(p, s, x, y, t)
            upd, o = opt.update(g, o, p)
            return (optax.apply_updates(p, upd), s_new, o, t + 1), {"loss": loss}

        self._step = jax.jit(step, donate_argnums=0)
        self._carry = (params, state, opt.init(params), jnp.zeros((), jnp.int32))
        self._args = (x, y)


# ----------------------------------------------------------------------------------------------
# the baseline: PyTorch (+ torchvision's ResNet blocks)
# ----------------------------------------------------------------------------------------------

def torch_trunk(width: int = 64, d_f: int = D_F):
    """The same trunk in PyTorch: CIFAR stem, torchvision ``BasicBlock`` layers 1-3, token
    head.  ``forward(x) -> (z, pooled)`` with z = concat(flatten(q), flatten(p)) as ours."""
    import torch
    from torch import nn
    from torchvision.models.resnet import BasicBlock

    def layer(cin, cout, stride):
        down = None
        if stride != 1 or cin != cout:
            down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                 nn.BatchNorm2d(cout))
        return nn.Sequential(BasicBlock(cin, cout, stride, down), BasicBlock(cout, cout))

    class Trunk(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(width), nn.ReLU(inplace=True))
            self.layer1 = layer(width, width, 1)
            self.layer2 = layer(width, 2 * width, 2)
            self.layer3 = layer(2 * width, 4 * width, 2)
            self.proj = nn.Conv2d(4 * width, d_f, 1, bias=False)
            self.norm = nn.BatchNorm2d(d_f)

        def forward(self, x):
            h = self.layer3(self.layer2(self.layer1(self.stem(x))))
            pooled = h.mean(dim=(2, 3))
            t = self.norm(self.proj(h)).permute(0, 2, 3, 1)       # (B, h, w, d_f)
            half = t.shape[-1] // 2
            q = t[..., :half].reshape(t.shape[0], -1)
            p = t[..., half:].reshape(t.shape[0], -1)
            return torch.cat([q, p], dim=1), pooled

    return Trunk()


def torch_sigreg_loss(views, directions):
    r"""The HamJEPA author's SIGReg baseline in PyTorch, from the definition in
    :mod:`minimal_models.objectives.normality`: L = 1/2 inv + lam mean_v SIGReg(views[v]),
    inv = mean (mean_v z_v - z_v)^2, SIGReg = mean_m EP(z a_m), EP(y) = N sum_j omega_j
    [(mean cos(t_j y) - e^{-t_j^2/2})^2 + (mean sin(t_j y))^2] on t = linspace(0, 3, 9) with
    the folded trapezoid weights omega_j = 2 Delta e^{-t_j^2/2} (Delta at both ends).
    views: (V, N, D); directions: (D, M) (normalised here)."""
    import torch

    n = views.shape[1]
    t = torch.linspace(0.0, EP_T_MAX, EP_KNOTS, dtype=views.dtype, device=views.device)
    delta = t[1] - t[0]
    scale = torch.full_like(t, 2.0) * delta
    scale[0] = scale[-1] = delta
    phi = torch.exp(-0.5 * t**2)
    a = directions / directions.norm(dim=0, keepdim=True)
    ty = (views @ a)[..., None] * t                           # (V, N, M, T)
    err = (torch.cos(ty).mean(1) - phi) ** 2 + torch.sin(ty).mean(1) ** 2   # (V, M, T)
    sig = (n * (err * scale * phi).sum(-1)).mean()
    inv = ((views.mean(0, keepdim=True) - views) ** 2).mean()
    return 0.5 * inv + LAM * sig


class TorchSide:
    """The PyTorch baseline with the interface of :class:`JaxSide`."""

    name = "torch"

    def __init__(self, *, width: int = 64, dtype: str = "float32"):
        import torch

        self.torch, self.width, self.dtype = torch, width, dtype
        self.dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.device = f"{self.dev.type} (torch {torch.__version__}, " \
                      f"{torch.get_num_threads()} threads)"
        self._step = None

    def param_count(self) -> int:
        return sum(p.numel() for p in torch_trunk(self.width).parameters())

    def _sync(self):
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize()

    def setup(self, method: str, batch: int) -> float:
        torch = self.torch
        if method not in TORCH_METHODS:
            raise ValueError(f"method={method!r} is not one of {TORCH_METHODS}")
        torch.manual_seed(0)
        amp = self.dtype == "bfloat16"
        if method == "conv":
            x = torch.randn(2 * batch, CONV_CH, CONV_HW, CONV_HW, device=self.dev,
                            requires_grad=True)
            conv = torch.nn.Conv2d(CONV_CH, CONV_CH, 3, padding=1, bias=False).to(self.dev)

            def step():
                with torch.autocast(self.dev.type, torch.bfloat16, enabled=amp):
                    y = conv(x)
                loss = (y.float() ** 2).sum()
                x.grad = None
                conv.zero_grad(set_to_none=True)
                loss.backward()
                with torch.no_grad():
                    conv.weight -= 1e-6 * conv.weight.grad
                return loss
        else:
            trunk = torch_trunk(self.width).to(self.dev).train()
            head = torch.nn.Linear(4 * self.width, N_CLASSES).to(self.dev)
            params = list(trunk.parameters()) + list(head.parameters())
            opt = torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY)
            x_np, y_np = _images(2 * batch)
            x, y = torch.from_numpy(x_np).to(self.dev), torch.from_numpy(y_np).to(self.dev)

            def step():
                opt.zero_grad(set_to_none=True)
                with torch.autocast(self.dev.type, torch.bfloat16, enabled=amp):
                    z, pooled = trunk(x)
                if method == "supervised":
                    loss = torch.nn.functional.cross_entropy(head(pooled.float()), y)
                else:
                    views = z.float().reshape(2, batch, -1)
                    dirs = torch.randn(views.shape[-1], NUM_SLICES, device=self.dev)
                    loss = torch_sigreg_loss(views, dirs)
                loss.backward()
                opt.step()
                return loss

        self._step = step
        t0 = time.perf_counter()
        self.last_loss = float(step().detach())
        self._sync()
        return time.perf_counter() - t0

    def run(self, steps: int) -> float:
        t0 = time.perf_counter()
        for _ in range(steps):
            loss = self._step()
        self._sync()
        self.last_loss = float(loss.detach())
        return time.perf_counter() - t0


# ----------------------------------------------------------------------------------------------
# worker processes and the interleaved schedule
# ----------------------------------------------------------------------------------------------

def _limit_threads(side: str, threads: int | None):
    """Before jax/torch start: pin to ``threads`` cores and size the thread pools to match."""
    if not threads:
        return
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[:threads])
    if side == "jax":
        os.environ["NPROC"] = str(threads)     # the XLA CPU client's thread-pool size
        flags = os.environ.get("XLA_FLAGS", "")
        if threads == 1:
            flags += " --xla_cpu_multi_thread_eigen=false"
        os.environ["XLA_FLAGS"] = flags.strip()
    else:
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)


def _serve(conn, side: str, threads, width: int, dtype: str):
    """A worker: answers ("param_count",), ("setup", method, batch), ("run", steps)."""
    try:
        _limit_threads(side, threads)
        runner = (JaxSide if side == "jax" else TorchSide)(width=width, dtype=dtype)
        conn.send(("ok", runner.device))
        while True:
            msg = conn.recv()
            if msg[0] == "stop":
                break
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            if msg[0] == "param_count":
                value = runner.param_count()
            else:
                value = getattr(runner, msg[0])(*msg[1:])
                if not math.isfinite(runner.last_loss):
                    raise FloatingPointError(f"{side} {msg}: loss {runner.last_loss}")
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            conn.send(("ok", (value, cpu)))
    except BaseException as exc:  # report, don't hang the parent
        import traceback

        conn.send(("error", f"{side}: {exc!r}\n{traceback.format_exc()}"))


class _Worker:
    def __init__(self, side, threads, width, dtype):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")   # a fresh interpreter: flags before the jax import
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, side, threads, width, dtype),
                                daemon=True)
        self.proc.start()
        self.device = self._recv()

    def _recv(self):
        status, value = self.conn.recv()
        if status != "ok":
            raise RuntimeError(value)
        return value

    def call(self, *msg):
        self.conn.send(msg)
        return self._recv()

    def close(self):
        try:
            self.conn.send(("stop",))
        except OSError:
            pass
        self.proc.join(timeout=30)


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None and \
        importlib.util.find_spec("torchvision") is not None


def _spread(values):
    return statistics.median(values), min(values), max(values)


def run_interleaved(sides: dict, methods, batch: int, steps: int, repeats: int):
    """Compile then time ``method`` on every side, alternating sides round by round.
    ``sides``: name -> object with ``call(*msg)``.  Returns {method: {side: result}}."""
    out = {}
    for method in methods:
        active = {n: s for n, s in sides.items()
                  if method in (JAX_METHODS if n == "jax" else TORCH_METHODS)}
        res = {n: {"compile": s.call("setup", method, batch)[0], "t": [], "cpu": []}
               for n, s in active.items()}
        for r in range(repeats):
            order = list(active) if r % 2 == 0 else list(active)[::-1]
            for n in order:
                t, cpu = active[n].call("run", steps)
                res[n]["t"].append(t / steps)
                res[n]["cpu"].append(cpu / t)
        out[method] = res
    return out


class _InProcess:
    """A side run in this process (tests, or a GPU where threads do not matter)."""

    def __init__(self, runner):
        self.runner, self.device = runner, runner.device

    def call(self, *msg):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        value = self.runner.param_count() if msg[0] == "param_count" else \
            getattr(self.runner, msg[0])(*msg[1:])
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        return value, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

    def close(self):
        pass


def _fmt(res, batch):
    if res is None:
        return f"{'-':>27} {'-':>9} {'-':>8} {'-':>5}"
    med, lo, hi = _spread(res["t"])
    return (f"{1e3 * med:9.1f} ({1e3 * lo:6.1f}-{1e3 * hi:6.1f}) "
            f"{2 * batch / med:9.1f} {res['compile']:8.2f} {statistics.median(res['cpu']):5.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="thread counts (0: leave both libraries' defaults)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32],
                        help="images per step (2 views each)")
    parser.add_argument("--methods", nargs="+", default=["supervised", "sigreg", "conv"],
                        choices=JAX_METHODS)
    parser.add_argument("--steps", type=int, default=3, help="steps per timed round")
    parser.add_argument("--repeats", type=int, default=4, help="interleaved rounds per side")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                        help="compute dtype (bfloat16: autocast on the PyTorch side)")
    parser.add_argument("--width", type=int, default=64, help="ResNet base width (64 = ResNet-18)")
    parser.add_argument("--sides", nargs="+", choices=("jax", "torch"), default=["jax", "torch"])
    parser.add_argument("--in-process", action="store_true",
                        help="run our side in this process (no thread control; tests)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: width 8, batch 4, 1 thread count, 1 step x 2 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.width, args.batch_sizes, args.steps, args.repeats = 8, [4], 1, 2
        args.threads = args.threads[-1:]
        args.methods = [m for m in args.methods if m != "conv"] or ["supervised"]
    for name in ("steps", "repeats", "width"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name}={getattr(args, name)} must be >= 1")
    sides = [s for s in args.sides if s == "jax" or torch_available()]
    if "torch" in args.sides and "torch" not in sides:
        print("PyTorch/torchvision not installed: ours only "
              "(pip install -e '.[bench]' for the baseline)")

    print(f"ResNet-18 token trunk @ 32 px, width {args.width}, dtype {args.dtype}, "
          f"{args.steps} steps x {args.repeats} interleaved rounds; times: median (min-max) ms")
    table = {}
    for threads in args.threads:
        workers = {}
        try:
            for side in sides:
                if side == "jax" and args.in_process:
                    workers[side] = _InProcess(JaxSide(width=args.width, dtype=args.dtype))
                else:
                    workers[side] = _Worker(side, threads or None, args.width, args.dtype)
            counts = {s: w.call("param_count")[0] for s, w in workers.items()}
            devices = ", ".join(f"{s}: {w.device}" for s, w in workers.items())
            print(f"\n== {threads or 'default'} thread(s) | {devices}")
            print("encoder parameters: " + ", ".join(f"{s} {c:,}" for s, c in counts.items()))
            if len(set(counts.values())) > 1:
                raise RuntimeError(f"parameter counts differ: {counts}")
            print(f"{'method':>16} {'batch':>5} {'side':>5} {'ms/step (min-max)':>27} "
                  f"{'views/s':>9} {'compile':>8} {'cores':>5} {'torch/ours':>10}")
            for batch in args.batch_sizes:
                res = run_interleaved(workers, args.methods, batch, args.steps, args.repeats)
                for method, per_side in res.items():
                    ratio = float("nan")
                    if "jax" in per_side and "torch" in per_side:
                        ratio = statistics.median(per_side["torch"]["t"]) / \
                            statistics.median(per_side["jax"]["t"])
                    table[(method, threads, batch)] = ratio
                    for s in sides:
                        tail = f" {ratio:10.2f}" if s == "jax" else ""
                        print(f"{method:>16} {batch:5d} {s:>5} {_fmt(per_side.get(s), batch)}"
                              f"{tail}", flush=True)
                if "supervised" in res and "jax" in res["supervised"]:
                    sup = statistics.median(res["supervised"]["jax"]["t"])
                    for m in res:
                        if m.startswith("trainer_") and "jax" in res[m]:
                            print(f"{m:>16}: ours step / ours supervised = "
                                  f"{statistics.median(res[m]['jax']['t']) / sup:.2f} "
                                  "(goal <= 1.3)")
        finally:
            for w in workers.values():
                w.close()
    key = ("supervised", 2, 32)
    if key not in table:
        sup = [k for k in table if k[0] == "supervised"]
        key = sup[-1] if sup else None
    ratio = table.get(key, float("nan")) if key else float("nan")
    if key:
        print(f"\nsupervised step, PyTorch / ours at {key[1] or 'default'} thread(s), "
              f"batch {key[2]}:")
    print(f"ratio {ratio:.3f}")
    return table


if __name__ == "__main__":
    main()
