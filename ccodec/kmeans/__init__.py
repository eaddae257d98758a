"""The k-means engine behind `ccodec.quantize`, one step of the data path per module.

histogram   pixels -> sorted colour keys, their counts, each pixel's key
levels      the colour histogram coarsened to 4-7 bits a channel (restarts run there)
seeding     the first centres: greedy weighted k-means++, or splitting clusters
restarts    several seeded rough runs on the coarsest level; the best go on
finalists   each finalist through every finer level (two threads); the best rounded one wins
effort      the speed dial: what each `speed` setting does
lloyd       weighted Lloyd steps with Yinyang bounds, and a plain batch form
nearest     the nearest-centre searches both Lloyd forms call
rounding    centres -> 8-bit palette, re-assigned and re-centred, +-1 search

`ccodec.quantize` validates and runs them in that order.
"""
