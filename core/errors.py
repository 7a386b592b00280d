"""The newswatch exception tree: one root, one branch per resource.

Library errors are wrapped at the boundary that meets them (``raise FeedError(...) from e``), so
callers handle our names, not aiohttp's or SQLAlchemy's.
"""


class NewswatchError(Exception):
    """Root of every error newswatch raises on purpose."""


class ConfigError(NewswatchError, ValueError):
    """A setting or configuration file is invalid. The message names the setting."""


class RuleError(NewswatchError, ValueError):
    """A rule file or query is invalid. The message gives file, line and column when known."""


class FeedError(NewswatchError):
    """A feed could not be fetched or parsed."""


class StorageError(NewswatchError):
    """The database refused or failed an operation."""


class DeliveryError(NewswatchError):
    """An alert could not be delivered."""
