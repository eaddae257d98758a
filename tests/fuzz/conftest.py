"""The atheris harness is run by hand (see formats/ccz.md), never by pytest."""

collect_ignore = ["fuzz_decode.py"]
