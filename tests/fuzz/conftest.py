"""The atheris harness is run by hand (see its docstring), never collected by pytest."""

collect_ignore = ["fuzz_decode.py"]
