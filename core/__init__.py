"""rnnsuite core: the shared recurrent backbone, the one Trainer and their contracts."""
from core.backbone import CELLS, Backbone, backbone_from_config, build_backbone
from core.config import RunConfig
from core.errors import CheckpointError, ConfigError, DataError, RnnsuiteError
from core.pooling import Pooling
from core.sampler import BucketBatchSampler
from core.sequence import SequenceBatch, gather_last, lengths_to_mask, pad_sequences, reverse_within_lengths

__all__ = [
    "RunConfig", "SequenceBatch", "lengths_to_mask", "reverse_within_lengths", "gather_last",
    "pad_sequences", "RnnsuiteError", "ConfigError", "DataError", "CheckpointError",
    "build_backbone", "backbone_from_config", "Backbone", "CELLS", "Pooling", "BucketBatchSampler",
]
# Trainer / run_domain (core/trainer.py, core/run.py) are added to this face by their owners.
