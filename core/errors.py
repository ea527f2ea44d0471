"""One exception type for bad input: the CLI prints its message on one line and exits 2."""


class RnnsuiteError(Exception):
    """Bad user input (config field, file, checkpoint). The message names the field or file."""


class ConfigError(RnnsuiteError, ValueError):
    pass


class DataError(RnnsuiteError, ValueError):
    pass


class CheckpointError(RnnsuiteError, ValueError):
    pass
