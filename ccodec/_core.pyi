# The compiled loops of ccodec._core (_core.pyx and its .pxi files), for type checkers.
import numpy as np

def palette_lookup(labels: np.ndarray, palette: np.ndarray, out: np.ndarray) -> None: ...
def floyd_steinberg(pixels: np.ndarray, palette: np.ndarray, labels: np.ndarray) -> None: ...
def context_encode(
    labels: np.ndarray,
    k: int,
    order: np.ndarray,
    pos: np.ndarray,
    prob: np.ndarray,
    count: np.ndarray,
) -> bytes: ...
def context_decode(
    stream: memoryview | bytes | np.ndarray,
    labels: np.ndarray,
    k: int,
    order: np.ndarray,
    pos: np.ndarray,
    prob: np.ndarray,
    count: np.ndarray,
    esc: np.ndarray,
) -> tuple[int, int]: ...
