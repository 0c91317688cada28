"""flamed: Python client and FLAME-style pool for flamed, the FLAME runner service.

    import flamed
    with flamed.Client("unix:/run/flamed/flamed.sock") as client:
        runner = client.boot("app:latest", network="appnet", pool="work")
        print(client.run(runner.id, ["uname", "-a"]).stdout)
        client.shutdown(runner.id)

The gRPC stubs are generated from the repository's proto/ into flamed/_gen on first
import (or by bindings/python/generate) and regenerated when proto/ changes.
"""

from .client import Client, Stream
from .pool import Pool
from .types import (Event, EventType, FlamedError, PoolClosedError, PoolTimeoutError,
                    PullPolicy, PullProgress, Renewal, Result, Runner, RunnerState, SpawnEvent)

__all__ = [
    "Client", "Stream", "Pool", "Event", "EventType", "FlamedError", "PoolClosedError",
    "PoolTimeoutError", "PullPolicy", "PullProgress", "Renewal", "Result", "Runner", "RunnerState", "SpawnEvent",
]
__version__ = "0.1.0"
