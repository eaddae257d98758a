"""Output writers: how a `Quantized` image becomes a file, chosen by name or extension.

Three kinds, looked up in this order:

- built-in: ``png`` (palette PNG, lossless), ``jpeg`` (lossy), ``ccz``;
- plugins: objects other packages declare in the ``ccodec.writers`` entry-point
  group, loaded the first time a lookup gets past the built-ins, each checked
  as it loads;
- every other format Pillow can save (``webp``, ``tiff``, ``bmp``, ``gif``, ...).

A module is imported only when its writer writes.

>>> writer_for_path("out.PNG").name
'png'
>>> get_writer("jpeg").lossy
True
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import PurePath
from typing import Any, BinaryIO

from ..errors import CczError, OptionError, OutputError
from ..model import Quantized

__all__ = [
    "ENTRY_POINT_GROUP",
    "Writer",
    "available_writers",
    "broken_plugins",
    "get_writer",
    "writer_for_path",
]

ENTRY_POINT_GROUP = "ccodec.writers"


@dataclass(frozen=True)
class Writer:
    """A named output format: its file extensions and the function that writes it.

    `target` is the write function, or ``"module:function"`` imported on first
    use. `options` names the keyword options `write` accepts (None: any).
    `fixed` are keyword arguments always passed to the function.
    """

    name: str
    extensions: tuple[str, ...]
    description: str
    lossy: bool
    target: str | Callable[..., None]
    options: tuple[str, ...] | None = ()
    source: str = "built-in"
    fixed: tuple[tuple[str, Any], ...] = ()

    def write(self, q: Quantized, fp: BinaryIO, **options: Any) -> None:
        """Write `q` to the binary file `fp`; unknown `options` raise OptionError."""
        if self.options is not None:
            unknown = sorted(set(options) - set(self.options))
            if unknown:
                takes = ", ".join(self.options) or "no options"
                raise OptionError(
                    f"the {self.name} writer does not take {', '.join(unknown)} (it takes {takes})"
                )
        function = self._function()
        if self.source in ("built-in", "pillow"):
            function(q, fp, **dict(self.fixed), **options)
            return
        try:
            function(q, fp, **options)
        except CczError:
            raise
        except Exception as exc:  # a bug in someone else's package: name it, no traceback
            raise OutputError(
                f"writer plugin {self.name!r} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _function(self) -> Callable[..., None]:
        if callable(self.target):
            return self.target
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


_BUILTINS = (
    Writer(
        "png",
        (".png",),
        "palette PNG, 1-8 bits per pixel (RGB/RGBA/L/LA above 256 colours); exact",
        lossy=False,
        target="ccodec.writers.png:write",
        options=("optimize",),
    ),
    Writer(
        "jpeg",
        (".jpg", ".jpeg", ".jpe", ".jfif"),
        "JPEG, --quality 1-95 (default 90); alpha is composited on white",
        lossy=True,
        target="ccodec.writers.jpeg:write",
        options=("quality",),
    ),
    Writer(
        "ccz",
        (".ccz",),
        "the .ccz container itself; exact",
        lossy=False,
        target="ccodec.writers.ccz:write",
        options=("level", "coding"),
    ),
)
_BUILTIN_NAMES = {w.name for w in _BUILTINS}


def get_writer(name: str) -> Writer:
    """The writer called `name` (case-insensitive); OptionError listing the others."""
    key = name.lower()
    for writer in _all_writers():
        if writer.name == key:
            return writer
    for plugin, problem in _plugins()[1]:
        if plugin == key:
            raise OptionError(problem)
    raise OptionError(f"unknown output format {name!r}; {_known()}")


def writer_for_path(path: str | PurePath) -> Writer:
    """The writer for the extension of `path`; OptionError if none writes it."""
    extension = PurePath(path).suffix.lower()
    if not extension:
        raise OptionError(f"{path}: no file extension to choose an output format by; {_known()}")
    for writer in _all_writers():
        if extension in writer.extensions:
            return writer
    raise OptionError(f"{path}: no writer for {extension!r} files; {_known()}")


def available_writers() -> list[Writer]:
    """Every writer that loads: built-in, then plugins, then Pillow's formats."""
    return list(_all_writers())


def broken_plugins() -> list[str]:
    """One message for each ``ccodec.writers`` plugin that failed to load."""
    return [problem for _, problem in _plugins()[1]]


def _known() -> str:
    writers = _all_writers()
    return "available: " + ", ".join(
        f"{w.name} ({' '.join(w.extensions)})" if w.source != "pillow" else w.name for w in writers
    )


def _all_writers() -> Iterator[Writer]:
    """Built-ins, then plugins, then Pillow's formats, each group loaded only if reached."""
    yield from _BUILTINS
    yield from _plugins()[0]
    yield from _pillow_writers()


@functools.cache
def _pillow_writers() -> tuple[Writer, ...]:
    from .pillow import LOSSY_FORMATS, QUALITY_RANGES, saveable_formats

    taken = _BUILTIN_NAMES | {w.name for w in _plugins()[0]}
    writers = []
    for fmt, extensions in saveable_formats().items():
        if fmt.lower() in taken:
            continue
        notes = []
        if fmt in QUALITY_RANGES:
            notes.append("--quality {}-{}".format(*QUALITY_RANGES[fmt]))
        if fmt == "WEBP":
            notes.append("lossless unless --quality is given")
        writers.append(
            Writer(
                fmt.lower(),
                extensions,
                "; ".join([f"{fmt} through Pillow", *notes]),
                lossy=fmt in LOSSY_FORMATS,
                target="ccodec.writers.pillow:write",
                # Exact formats refuse a quality rather than ignore it.
                options=("quality",) if fmt in QUALITY_RANGES else (),
                source="pillow",
                fixed=(("format", fmt),),
            )
        )
    return tuple(writers)


@functools.cache
def _plugins() -> tuple[tuple[Writer, ...], tuple[tuple[str, str], ...]]:
    """The plugins that load, and (name, message) for each that does not."""
    loaded: list[Writer] = []
    broken: list[tuple[str, str]] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            writer = _load_plugin(entry, taken={w.name for w in loaded} | _BUILTIN_NAMES)
        except Exception as exc:  # a broken plugin must not hide the working ones
            dist = getattr(entry, "dist", None)
            where = f" from {dist.name}" if dist is not None else ""
            message = f"writer plugin {entry.name!r} ({entry.value}{where}) is broken: {exc}"
            broken.append((entry.name.lower(), message))
        else:
            loaded.append(writer)
    return tuple(loaded), tuple(broken)


def _load_plugin(entry: EntryPoint, taken: Iterable[str]) -> Writer:
    obj = entry.load()
    missing = [a for a in ("name", "extensions", "write") if not hasattr(obj, a)]
    if missing:
        raise TypeError(f"it has no {', '.join(missing)} attribute")
    name, extensions = obj.name, obj.extensions
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, not {name!r}")
    if name.lower() in taken:
        raise ValueError(f"the name {name.lower()!r} is already taken")
    if isinstance(extensions, str) or not all(
        isinstance(e, str) and e.startswith(".") for e in extensions
    ):
        raise TypeError(f"extensions must be strings like '.xyz', not {extensions!r}")
    if not callable(obj.write):
        raise TypeError("write is not callable")
    dist = getattr(entry, "dist", None)
    source = f"plugin ({dist.name})" if dist is not None else "plugin"
    options = getattr(obj, "options", None)
    return Writer(
        name.lower(),
        tuple(e.lower() for e in extensions),
        str(getattr(obj, "description", "")),
        lossy=bool(getattr(obj, "lossy", False)),
        target=obj.write,
        options=None if options is None else tuple(options),
        source=source,
    )
