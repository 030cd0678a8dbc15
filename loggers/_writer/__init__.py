"""What the backends' writers are built of, shared by several backends.

- ``handoff``: :class:`HandoffQueue`, the bounded queue between application threads and one consumer
  (``thread-queue``, ``asyncio``, ``subprocess``).
- ``thread``: :class:`ConsumerThread`, the loop that takes and finishes batches (every queued backend), and
  :class:`WriterThread`, the consumer that encodes and writes in-process (``thread-queue``, ``asyncio``).
- ``process``: start and reap a writer process that imports this ``loggers`` (``subprocess``, ``mmap``).
"""
