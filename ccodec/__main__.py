"""python -m ccodec: the same as the ccodec command."""

from .cli import main

main(prog_name="ccodec")
