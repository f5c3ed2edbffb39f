"""Exception types shared by the domain packages.

Every error a user can cause carries a message that says what to do about it.
"""


class LofiError(Exception):
    """Base class for errors a user of lofi-empire can act on."""


class ConfigError(LofiError, ValueError):
    """A setting (style, key, BPM, slot, channel option) is invalid."""


class UnknownStyleError(ConfigError):
    """A style name that has no preset in assets_library/styles."""


class InvalidKeyError(ConfigError):
    """A key or mode name that the theory engine does not know."""


class InvalidTempoError(ConfigError):
    """A BPM outside the range the engine composes for."""


class InvalidSlotError(ConfigError):
    """A track slot that the channel does not publish."""


class CorruptMidiError(LofiError):
    """A MIDI file that cannot be parsed."""
