"""A Dask cluster as the pipeline's executor: ``--scheduler tcp://HOST:PORT`` or ``--scheduler local``.

``client.get_executor()`` is a ``concurrent.futures.Executor``, so the streaming pipeline sends
chunks to the cluster's workers as it sends them to its own process pool: the same ordered window
of jobs in flight, the same bytes. A worker lost mid-run is Dask's to handle: its tasks are run
again on another worker, and a task whose workers keep dying ends the run with one error.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from concurrent.futures import Executor

from ._extras import require

__all__ = ["LOCAL", "cluster_executor"]

_log = logging.getLogger("sigmalang")

LOCAL = "local"


@contextlib.contextmanager
def cluster_executor(scheduler: str, workers: int = 1) -> Iterator[Executor]:
    """An executor on the cluster at *scheduler* (an address), or on a new local cluster of
    *workers* processes, one thread each, for ``"local"`` (closed at the end)."""
    distributed = require("distributed", "--scheduler")
    with contextlib.ExitStack() as stack:
        if scheduler == LOCAL:
            local = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            stack.enter_context(local)
            address = local.scheduler_address
        else:
            address = scheduler
        client = stack.enter_context(distributed.Client(address, set_as_default=False, timeout=30))
        _log.info("Dask scheduler %s: %d worker threads", address, sum(client.nthreads().values()))
        yield client.get_executor()
