"""The atheris harnesses are run by hand (see their docstrings), never collected by pytest."""

collect_ignore = ["fuzz_context.py", "fuzz_decode.py", "fuzz_rans.py"]
