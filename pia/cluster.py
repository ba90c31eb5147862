"""Batch work on a Dask cluster (``dask.distributed``): connecting to a scheduler, checking that
every worker sees the data dir and the output folder, and collecting results as tasks finish.

The workers read the snapshots and write the reports themselves, so both folders must be on a
filesystem they share with the machine that starts the batch; paths are sent to them absolute.
``distributed`` is an optional extra: ``pip install 'pia[dask]'``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pia.errors import PiaError

#: how long to wait for a scheduler that does not answer
CONNECT_TIMEOUT = 10


class ClusterError(PiaError):
    """The Dask cluster cannot be reached or cannot run the batch (what to do is in the message)."""


class Cluster:
    """A connection to a Dask scheduler; ``with Cluster(address) as cluster: ...``."""

    def __init__(self, address: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ClusterError(
                "scheduler needs Dask's distributed package: pip install 'pia[dask]'",
                parameters=("scheduler",),
            ) from None
        self.address = address
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as error:
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {detail}") from None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def check_shared(self, data: Path, out: Path) -> None:
        """Raise :class:`ClusterError` unless every worker sees the data dir (the same incidents)
        and can write to the output folder (it finds a file written there just now)."""
        if not self.workers:
            raise ClusterError(
                f"the Dask scheduler at {self.address} has no workers: start some with 'dask worker {self.address}'"
            )
        out.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(16)
        probe = out / f".pia-probe-{token}"
        probe.write_text(token)
        try:
            answers = self.client.run(
                _sees, str(data), listing_hash(data), str(out), probe.name, token
            )
        finally:
            probe.unlink(missing_ok=True)
        for worker, problem in sorted(answers.items()):
            if problem:
                raise ClusterError(
                    f"worker {worker} {problem}: the data dir and the output folder must be on a filesystem every worker shares"
                )

    def as_finished(
        self, fn: Callable[..., Any], items: Sequence[Any], *args: Any
    ) -> Iterator[tuple[Any, Any, str]]:
        """Run ``fn(item, *args)`` for every item on the cluster; yield ``(item, result, error)``
        as each finishes. A task that lost its worker runs again on another one (the
        scheduler's doing); one whose workers keep dying fails alone, ``error`` saying so."""
        from distributed import as_completed

        batch = secrets.token_hex(4)
        futures = {
            self.client.submit(fn, item, *args, key=f"pia-{batch}-{n}", pure=False): item
            for n, item in enumerate(items)
        }
        try:
            for future in as_completed(futures, loop=self.client.loop):
                item = futures[future]
                try:
                    yield item, future.result(), ""
                except Exception as error:  # KilledWorker, a cancelled task: this item only
                    detail = str(error).splitlines()[0] if str(error) else ""
                    yield (
                        item,
                        None,
                        f"lost on the cluster ({type(error).__name__}{': ' if detail else ''}{detail})",
                    )
        finally:
            for future in futures:
                future.release()


def listing_hash(data: Path) -> str:
    """sha256 of the data dir's incident ids: the same folder has the same ones."""
    from pia.snapshot import list_incidents

    return hashlib.sha256("\n".join(list_incidents(data)).encode()).hexdigest()


def _sees(data: str, listing: str, out: str, probe: str, token: str) -> str:
    """On a worker: empty if it sees the data dir and the output folder as the client does,
    else what it cannot see."""
    if not (Path(data) / "incidents").is_dir() or listing_hash(Path(data)) != listing:
        return f"cannot see the data dir {data}"
    try:
        seen = (Path(out) / probe).read_text()
    except OSError:
        seen = ""
    if seen != token:
        return f"cannot see the output folder {out}"
    if not os.access(out, os.W_OK):
        return f"cannot write to the output folder {out}"
    return ""
