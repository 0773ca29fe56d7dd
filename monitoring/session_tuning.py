"""PostgreSQL settings for the transaction that scores one chunk of the nightly run.

``SET LOCAL``: they last until the chunk's transaction ends and touch nothing else the session
does.  On other databases there is nothing to tune."""

from __future__ import annotations

from django.db import connection

# The scores and the chunk's "done" mark commit together, so a commit lost in a crash loses
# both and the chunk simply runs again: no need to wait for the WAL flush (0.2-0.3 s a chunk on
# this machine).  No JIT: a chunk's statements are estimated dear enough to cross
# jit_above_cost, and compiling them cost ~0.5 s a statement, more than running them.  No
# parallel query: the run scales by workers, and a chunk's helper processes would take the
# other workers' cores.  Room to sort and hash a chunk's rows in memory.
CHUNK_TRANSACTION_SETTINGS = (
    "SET LOCAL synchronous_commit TO OFF; SET LOCAL jit TO OFF; "
    "SET LOCAL max_parallel_workers_per_gather TO 0; SET LOCAL work_mem TO '64MB'"
)


def chunk_transaction_tune() -> None:
    """Apply the chunk settings to the current transaction (call it inside ``atomic``)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(CHUNK_TRANSACTION_SETTINGS)
