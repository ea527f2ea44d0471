"""Bad-input exceptions shared by every layer: ``RnnsuiteError`` and its three kinds.

Every CLI catches ``RnnsuiteError``, prints its message on one line and exits 2.
"""


class RnnsuiteError(Exception):
    """Bad user input (config field, file, checkpoint). The message names the field or file."""


class ConfigError(RnnsuiteError, ValueError):
    """A flag, config-file field or option with a bad value."""


class DataError(RnnsuiteError, ValueError):
    """A dataset, file or split that cannot be read or used."""


class CheckpointError(RnnsuiteError, ValueError):
    """A checkpoint that is missing, corrupt or from another domain or model."""
