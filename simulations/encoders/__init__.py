"""Real encoders trained with the objectives of :mod:`minimal_models.objectives`: equinox
networks (MLP, the digits token CNN, the CIFAR-stem ResNet-18 token encoder), JAX augmentations
run inside the jitted step, offline data sets, an objective adapter (objectives by their names
in :data:`minimal_models.objectives.registry.OBJECTIVES`), the optax training loop, the
evaluation of frozen features, and the label-noise experiments (an encoder with trainable label
embeddings, :mod:`simulations.encoders.label_noise`).

Precision: this package never switches JAX to float64.  Parameters, activations and losses are
in the dtypes of :class:`TrainConfig` whatever ``jax_enable_x64`` says
(:mod:`simulations.encoders.precision`).
"""

from .config import TrainConfig, config_from_assignments
from .data import DATASETS, Dataset, load_dataset
from .label_noise import LabelNoiseRun, calibrate_encoder_rate, train_label_embeddings
from .networks import ENCODERS, apply_encoder, build_encoder
from .objectives import OBJECTIVES
from .train import TrainResult, encode, train

__all__ = ["DATASETS", "Dataset", "ENCODERS", "LabelNoiseRun", "OBJECTIVES", "TrainConfig",
           "TrainResult", "apply_encoder", "build_encoder", "calibrate_encoder_rate",
           "config_from_assignments", "encode", "load_dataset", "train",
           "train_label_embeddings"]
