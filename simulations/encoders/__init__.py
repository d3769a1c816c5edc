"""Real encoders trained with the objectives of :mod:`minimal_models.objectives`: equinox
networks (MLP, the digits token CNN, the CIFAR-stem ResNet-18 token encoder), JAX augmentations
run inside the jitted step, offline data sets, the objectives resolved for a run (by their
names in :data:`minimal_models.objectives.registry.OBJECTIVES`, with the training recipes of
:mod:`simulations.encoders.recipes`), the optax training loop with verified checkpoints, the
evaluation of frozen features, and the label-noise experiments (an encoder with trainable label
embeddings, :mod:`simulations.encoders.label_noise`).

Precision: this package never switches JAX to float64.  Parameters, activations and losses are
in the dtypes of :class:`TrainConfig` whatever ``jax_enable_x64`` says
(:mod:`simulations.encoders.precision`).

``train`` here is the training function; the module of the same name is
``importlib.import_module("simulations.encoders.train")``.
"""

from .config import TrainConfig as TrainConfig
from .config import config_from_assignments as config_from_assignments
from .data import DATASETS as DATASETS
from .data import Dataset as Dataset
from .data import load_dataset as load_dataset
from .label_noise import LabelNoiseRun as LabelNoiseRun
from .label_noise import calibrate_encoder_rate as calibrate_encoder_rate
from .label_noise import train_label_embeddings as train_label_embeddings
from .networks import ENCODERS as ENCODERS
from .networks import apply_encoder as apply_encoder
from .networks import build_encoder as build_encoder
from .objectives import OBJECTIVES as OBJECTIVES
from .objectives import TrainingObjective as TrainingObjective
from .objectives import resolve_objective as resolve_objective
from .recipes import Recipe as Recipe
from .recipes import register_recipe as register_recipe
from .train import TrainResult as TrainResult
from .train import encode as encode
from .train import train as train

__all__ = ["DATASETS", "Dataset", "ENCODERS", "LabelNoiseRun", "OBJECTIVES", "Recipe",
           "TrainConfig", "TrainResult", "TrainingObjective", "apply_encoder", "build_encoder",
           "calibrate_encoder_rate", "config_from_assignments", "encode", "load_dataset",
           "register_recipe", "resolve_objective", "train", "train_label_embeddings"]
