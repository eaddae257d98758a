# Error diffusion (Floyd-Steinberg): called by ccodec/dither.py.
