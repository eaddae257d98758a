"""The k-means engine behind `ccodec.quantize`, one step of the data path per module.

histogram   pixels -> sorted colour keys, their counts, each pixel's key
levels      the colour histogram coarsened to 4-7 bits a channel (restarts run there)
seeding     the first centres: greedy weighted k-means++, or splitting clusters
restarts    several seeded rough runs on the coarsest level; the best go on
lloyd       weighted Lloyd steps with Yinyang bounds, and a plain batch form
nearest     the nearest-centre searches both Lloyd forms call
rounding    centres -> 8-bit palette, re-assigned and re-centred

`ccodec.quantize` validates and runs them in that order.
"""
