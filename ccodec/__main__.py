"""python -m ccodec: the same as the ccodec command."""

from .cli import run

run()
