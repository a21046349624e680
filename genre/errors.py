"""The project's error types: one base class, one subclass per kind of bad input.

The CLI turns any :class:`GenreError` into one line on stderr and exit code 2; the app
turns it into ``st.error``. Anything else escaping the library is a bug.
"""


class GenreError(Exception):
    """Base class for every error the library raises on purpose."""


class ParameterError(GenreError, ValueError):
    """A parameter is out of range or inconsistent with another one."""


class DatasetError(GenreError):
    """A dataset folder is missing, empty or not laid out like GTZAN."""


class AudioError(GenreError):
    """An audio file cannot be read or decoded."""


class ClipTooShortError(AudioError):
    """A clip is shorter than one segment of the model's feature parameters."""


class FeatureStoreError(GenreError):
    """A feature store is missing, corrupt or of an unknown format."""


class BundleError(GenreError):
    """A model bundle is missing parts, corrupt or inconsistent."""


class TrainingError(GenreError):
    """The features cannot be trained on (too few genres, tracks or rows)."""


class Cancelled(GenreError):
    """Long work was stopped on request before it finished."""
