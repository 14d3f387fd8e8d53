"""Errors a user can act on. The CLI prints them without a traceback and exits with status 2.

Every message names the offending file or value and says what to do about it.
"""


class RpmbenchError(Exception):
    """Base class: a problem with the user's input, data or configuration."""


class DataError(RpmbenchError):
    """A data set, annotation or results folder is missing, incomplete or malformed."""


class ConfigError(RpmbenchError):
    """A configuration value is unknown or impossible (checked before any work starts)."""


class BackendUnavailableError(RpmbenchError):
    """A named backend or optional library cannot be used here (with how to install it)."""


class TrainingDivergedError(RpmbenchError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


class WorkerLostError(RpmbenchError):
    """A worker process ended abruptly (killed by a signal or out of memory); finished work is kept."""
