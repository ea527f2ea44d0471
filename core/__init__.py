"""rnnsuite core: the shared recurrent backbone, the one Trainer and their contracts."""

from core.errors import CheckpointError, ConfigError, DataError, RnnsuiteError
from core.nn.backbone import CELLS, Backbone, backbone_from_config, build_backbone
from core.nn.pooling import Pooling
from core.nn.sampler import BucketBatchSampler
from core.nn.sequence import (
    SequenceBatch,
    gather_last,
    lengths_to_mask,
    pad_sequences,
    reverse_within_lengths,
)

__all__ = [
    "RunConfig",
    "SequenceBatch",
    "lengths_to_mask",
    "reverse_within_lengths",
    "gather_last",
    "pad_sequences",
    "RnnsuiteError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    "build_backbone",
    "backbone_from_config",
    "Backbone",
    "CELLS",
    "Pooling",
    "BucketBatchSampler",
]

# The engine (tqdm, tensorboard, matplotlib) loads only when asked for: `import core` (and so
# `import core.nn`) stays light and never pulls in a layer above the network library.
_ENGINE = {
    "RunConfig": "core.engine.config",
    "Trainer": "core.engine.trainer",
    "train_main": "core.engine.run",
    "load_for_inference": "core.engine.checkpoint",
}


def __getattr__(name: str):
    if name in _ENGINE:
        import importlib

        return getattr(importlib.import_module(_ENGINE[name]), name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
