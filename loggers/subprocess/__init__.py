"""The ``subprocess`` backend: a sender thread ships raw records to a writer process over a unix socket.

- ``backend``: :class:`SubprocessBackend`, the application's side (queue, sender thread, flush, close, fork).
- ``writers``: :class:`Writers`, this process's writer processes: start, connect, notice a death, restart, reap.
- ``link``: one connection to a writer: send frames, read acks.
- ``wire``: the frame and ack formats and the trust boundary.
- ``writer``: the writer process's ``main``.

Nothing is imported here: the writer process imports only what it runs.
"""
