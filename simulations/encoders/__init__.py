"""Real encoders trained with the objectives of :mod:`minimal_models.objectives`: equinox
networks (MLP, the digits token CNN, the CIFAR-stem ResNet-18 token encoder), JAX augmentations
run inside the jitted step, offline data sets, an objective adapter, the optax training loop
and the evaluation of frozen features.

Precision: this package never switches JAX to float64.  Parameters, activations and losses are
in the dtypes of :class:`TrainConfig` whatever ``jax_enable_x64`` says
(:mod:`simulations.encoders.precision`).
"""

from .config import TrainConfig, config_from_assignments
from .data import DATASETS, Dataset, load_dataset
from .networks import ENCODERS, apply_encoder, build_encoder
from .objectives import OBJECTIVES
from .train import TrainResult, encode, train

__all__ = ["DATASETS", "Dataset", "ENCODERS", "OBJECTIVES", "TrainConfig", "TrainResult",
           "apply_encoder", "build_encoder", "config_from_assignments", "encode",
           "load_dataset", "train"]
