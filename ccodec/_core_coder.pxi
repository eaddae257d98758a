# The adaptive context coder of payload coding 2: called by ccodec/coder.py.
