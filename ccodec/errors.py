"""Every error ccodec raises on bad data or bad options.

    CczError                      base: catch this to catch them all
    ├── OptionError               an argument out of range (also a ValueError)
    ├── InputError                an input that is not a readable image (also an OSError)
    ├── OutputError               an output that cannot be written (also an OSError)
    ├── QualityTooLowError        a --quality MIN no K up to the cap meets (exit status 99)
    └── FormatError               a .ccz file that must be rejected
        ├── NotCczError           no .ccz signature: some other kind of file
        ├── UnsupportedError      a valid file of a version or feature this decoder lacks
        ├── TruncatedError        the file ends before its data does
        ├── CorruptError          a field or the payload holds an impossible value
        │   └── ChecksumError     a CRC-32 or zstd checksum does not match
        └── LimitError            valid, but larger than the caller allows

Third-party errors (zstandard, struct, Pillow) are wrapped where they arise, so
`ccodec.decode` raises nothing but `CczError`.
"""

from __future__ import annotations

__all__ = [
    "CczError",
    "ChecksumError",
    "CorruptError",
    "FormatError",
    "InputError",
    "LimitError",
    "NotCczError",
    "OptionError",
    "OutputError",
    "QualityTooLowError",
    "TruncatedError",
    "UnsupportedError",
]


class CczError(Exception):
    """Base of every error ccodec raises on bad data or options."""


class OptionError(CczError, ValueError):
    """An argument is out of its allowed range or of the wrong kind."""


class InputError(CczError, OSError):
    """An input file is missing, unreadable, or not an image."""


class OutputError(CczError, OSError):
    """An output cannot be written (missing folder, no permission, same as input)."""


class QualityTooLowError(CczError):
    """Even the largest K allowed misses the least quality accepted (pngquant's exit 99)."""

    exit_status = 99


class FormatError(CczError):
    """A .ccz file is malformed or cannot be decoded."""


class NotCczError(FormatError):
    """The data does not start with the .ccz signature."""


class UnsupportedError(FormatError):
    """The file needs a version or feature this decoder does not have."""


class TruncatedError(FormatError):
    """The file ends before the data its header announces."""


class CorruptError(FormatError):
    """A field or the payload holds a value the format forbids."""


class ChecksumError(CorruptError):
    """A stored checksum does not match the data."""


class LimitError(FormatError):
    """The image is valid but larger than the caller's limit allows."""
