"""Thread limits for the small model fits the diagnosis makes on bounded samples.

The domain classifier and the loss model fit a few thousand rows; OpenMP's default of one
thread per core gains little there and, when the machine is busy (other kernels, DuckDB's own
scan threads), spinning threads make a fit several times slower (measured: 8.8 s against
2.2 s for the domain classifier at a load of 11 on two cores). These fits run on one thread.
Call it after the library is imported: only libraries already loaded are limited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

SMALL_FIT_THREADS = 1


@contextlib.contextmanager
def small_fit() -> Iterator[None]:
    """Run the block with OpenMP and BLAS pools limited to SMALL_FIT_THREADS."""
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    with threadpool_limits(limits=SMALL_FIT_THREADS):
        yield
