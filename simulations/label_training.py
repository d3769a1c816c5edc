"""Former home of the label-noise encoder experiments, now
:mod:`simulations.encoders.label_noise` (issue 14): every public name is re-exported here so
that ``from simulations.label_training import LabelNoiseRun, train_label_embeddings`` keeps
working."""

from simulations.encoders.label_noise import (  # noqa: F401
    OBJECTIVES,
    LabelNoiseRun,
    calibrate_encoder_rate,
    load_data,
    train_label_embeddings,
)

__all__ = ["LabelNoiseRun", "OBJECTIVES", "train_label_embeddings", "load_data",
           "calibrate_encoder_rate"]
