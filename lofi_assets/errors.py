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


class MidiFormatError(CorruptMidiError):
    """A MIDI file that parses but cannot be played as one timeline: a type 2 file of several
    independent sequences, or a time division the Standard MIDI File spec does not define."""


class MidiNotFoundError(LofiError, FileNotFoundError):
    """A MIDI file that is not there (a ``FileNotFoundError`` too, for callers that catch it)."""
