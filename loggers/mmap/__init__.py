"""The ``mmap`` backend: records go into a shared memory ring; a writer process drains it.

- ``backend``: :class:`MmapBackend`, the application's side (hand-off, flush, close, fork).
- ``journal``: the journal file's layout (header slots, ring of tagged records) and ownership.
- ``ring``: :class:`Ring`, the application filling the ring: commit, make room, the overflow policies.
- ``drain``: :class:`Drainer`, exactly-once batches under the batch lock (writer process and application).
- ``writer``: the writer process's ``main``.
- ``recovery``: own a journal, recover orphaned ones, start the writer.

Nothing is imported here: the writer process imports only what it runs.
"""
