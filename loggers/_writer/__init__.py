"""What the backends' writers are built of, shared by several backends.

- ``handoff``: :class:`HandoffQueue`, the bounded queue between application threads and one consumer
  (``thread-queue``, ``asyncio``, ``subprocess``).
- ``thread``: :class:`WriterThread`, the in-process consumer that encodes and writes (``thread-queue``, ``asyncio``).
- ``process``: start and reap a writer process that imports this ``loggers`` (``subprocess``, ``mmap``).
"""
