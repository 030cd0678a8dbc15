"""OpenTelemetry peer: opentelemetry-sdk's ``LoggerProvider`` + ``BatchLogRecordProcessor``, fed by ``LoggingHandler``.

Configured as OpenTelemetry's Python logs docs show: a ``LoggerProvider`` with
a ``BatchLogRecordProcessor(exporter)`` and the SDK's ``LoggingHandler``
attached to a stdlib ``logging.Logger`` (here a dedicated one, not the root,
``propagate=False``), fields passed as ``extra=`` (they become the OTel
record's attributes). The provider is the adapter's own: ``set_logger_provider``
(process-wide) is never called, so several peers live in one process, and it
is built with ``shutdown_on_exit=False`` because the adapter's ``close()`` (run
at interpreter exit by ``loggers._lifecycle.track``) shuts it down.

The SDK ships no file exporter (its ``ConsoleLogRecordExporter`` prints
indented multi-line JSON). :class:`JsonLinesFileExporter` writes one flat
logbench JSON line per record (``ts``, ``level``, ``msg``, then the
attributes): encoded by the logbench encoder and written through the logbench
:class:`loggers._sink.FileSink`, one ``os.write`` per exported batch, so the
difference measured against the reference backends is OpenTelemetry's
machinery: ``LogRecord`` + ``findCaller``, ``LoggingHandler``'s translation,
the attribute cleaning of ``BoundedAttributes``, the batch queue and its
worker thread. The attributes the handler adds itself (``code.*``) are not
written; the level is the stdlib level the record was logged at.

Batching (the SDK's defaults unless given): a queue of ``max_queue_size``
(2048) records, exported by a worker thread in batches of
``max_export_batch_size`` (512) every ``schedule_delay_millis`` (1000 ms in
1.45; 5000 ms in older releases) or as soon as a batch is full. Options:
``queue_size`` -> ``max_queue_size``, ``batch_size`` ->
``max_export_batch_size`` (clamped to ``queue_size`` when only that is given),
``flush_interval`` -> ``schedule_delay_millis``. The queue is a
``deque(maxlen=max_queue_size)``: a full queue evicts the *oldest* record, so
``overflow`` can only be ``"drop_old"``. No rotation (``max_bytes``) and no
``fsync``: the SDK has neither.

Counting (``stats()``):

``written``
    Exact at all times: lines the exporter's sink handed to the OS.
``dropped``
    Once ``close()`` returned: exactly ``emitted - written``. Every record
    not written by then was evicted by a full queue, refused by the SDK or the
    sink, left queued past shutdown's 30 s join, or logged after close.
    While open: only the drops seen directly (a library exception, a failed
    write, a call after close); queue evictions are not observable from
    outside the SDK until then. opentelemetry-sdk 1.45 does count them, as the
    internal metric ``otel.sdk.processor.log.processed{error.type=queue_full}``,
    but only with ``OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED=true`` and a
    ``MeterProvider``, process-wide switches this adapter does not flip; it
    also logs ``Queue full, dropping Log.`` at most once per 20 s.
``errors``
    Sink failures, values the encoder could not represent, library exceptions
    at log time, and each record whose attributes the SDK truncated (its
    ``LogRecordLimits`` default of 128 attributes, ``code.*`` included).

Known limits (opentelemetry-sdk's, measured not fixed): attribute values of
other types are replaced by ``str(value)`` or ``None``, empty attribute names
dropped, each with a warning on the SDK's own (root-propagating) loggers;
``force_flush`` ignores its timeout in 1.45 (the adapter's ``flush(timeout)``
waits in a helper thread); what is queued is lost on SIGKILL. The SDK's
``LoggingHandler`` is deprecated in 1.45 in favour of
opentelemetry-instrumentation-logging's; its deprecation warning is silenced
at construction only.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs import export as otel_export

from loggers import _lifecycle
from loggers import JsonLinesEncoder
from loggers import ErrorReporter
from loggers import Options
from loggers import FileSink

from ._common import PeerLogger, describe
from ._stdlib import RECORD_ATTRS, rename_record_attrs

# 1.39+ names; older releases call them LogExporter / LogExportResult.
_Exporter: Any = getattr(otel_export, "LogRecordExporter", None) or otel_export.LogExporter
_Result: Any = getattr(otel_export, "LogRecordExportResult", None) or otel_export.LogExportResult

#: Attributes ``LoggingHandler`` adds to every record (1.45's ``code.*`` names and older ones): not fields.
HANDLER_ATTRS = frozenset({
    "code.file.path", "code.function.name", "code.line.number",  # semantic conventions 1.30+
    "code.filepath", "code.function", "code.lineno",  # before
    "taskName",  # stdlib 3.12+ record attribute older SDKs did not skip
})
#: OTel ``severity_text`` (as ``LoggingHandler`` sets it from ``levelname``) -> stdlib level.
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARN": 30, "WARNING": 30, "ERROR": 40, "FATAL": 50, "CRITICAL": 50}
#: The SDK's documented default batch size (``max_export_batch_size``).
SDK_BATCH_SIZE = 512
#: How long ``close()`` lets the SDK drain: ``BatchProcessor.shutdown``'s join timeout.
SHUTDOWN_MILLIS = 30_000


def stdlib_level(severity_text: str | None, severity_number: Any) -> int:
    """The stdlib level a record was logged at, from what ``LoggingHandler`` kept of it.

    ``severity_text`` is the record's ``levelname`` (``WARNING``/``CRITICAL`` renamed
    ``WARN``/``FATAL``; ``"Level 45"`` for an unnamed level): exact for those. Otherwise
    the lowest stdlib level of the OTel severity range (DEBUG 5-8 -> 10-13, ...).
    """
    if severity_text:
        level = _LEVELS.get(severity_text)
        if level is not None:
            return level
        if severity_text.startswith("Level ") and severity_text[6:].isdigit():
            return int(severity_text[6:])
    number = int(getattr(severity_number, "value", 0) or 0)
    return 0 if number <= 0 else ((number - 1) // 4) * 10 + (number - 1) % 4


class JsonLinesFileExporter(_Exporter):  # type: ignore[misc]
    """A ``LogRecordExporter`` writing each batch as logbench JSON lines through one :class:`FileSink`.

    Called by the batch processor's worker thread (or ``force_flush``) under the
    processor's export lock; encoding and writing also hold ``sink.lock``, which
    serialises the encoder. ``export`` never raises: a failed write is counted
    by the sink, anything else here counts one error and the batch is lost
    (it shows in ``dropped`` once closed).
    """

    def __init__(self, path: str, reporter: ErrorReporter) -> None:
        self.sink = FileSink(path)
        self.encoder = JsonLinesEncoder()
        self.truncated = 0  # records whose attributes the SDK cut to its limit
        self.failures = 0  # export calls that failed outside the sink
        self._reporter = reporter

    def export(self, batch: Sequence[Any]) -> Any:
        sink = self.sink
        try:
            with sink.lock:
                lines = [self._encode(item) for item in batch]
                written = sink.write_many(lines)
        except Exception as exc:  # a record this code does not understand: counted, never raised
            with sink.lock:
                self.failures += 1
            self._reporter.report(type(exc).__name__, f"exporting a batch: {describe(exc)} (batch dropped)")
            return _Result.FAILURE
        return _Result.SUCCESS if written == len(batch) else _Result.FAILURE

    def _encode(self, item: Any) -> bytes:
        record = item.log_record
        attributes = record.attributes or {}
        fields = {key: value for key, value in attributes.items() if key not in HANDLER_ATTRS}
        if getattr(attributes, "dropped", 0):
            self.truncated += 1
            self._reporter.report("attributes dropped", "the SDK cut a record's attributes to its limit (LogRecordLimits)")
        level = stdlib_level(record.severity_text, record.severity_number)
        return self.encoder.encode(record.timestamp, level, record.body, fields)

    def counts(self) -> tuple[int, int, int]:
        """(written, dropped, errors) of the sink, encoder and exporter, read under the sink lock."""
        sink = self.sink
        with sink.lock:
            errors = sink.errors + self.encoder.errors + self.truncated + self.failures
            return sink.written, sink.dropped, errors

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every export already wrote its batch."""
        return True

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        with self.sink.lock:
            self.sink.close()


def batch_settings(raw: Mapping[str, Any], options: Options) -> dict[str, Any]:
    """``BatchLogRecordProcessor`` keyword arguments for the logbench options given (the SDK's defaults otherwise)."""
    settings: dict[str, Any] = {}
    if "queue_size" in raw:
        settings["max_queue_size"] = options.queue_size
    if "batch_size" in raw:
        settings["max_export_batch_size"] = options.batch_size
    elif "queue_size" in raw and options.queue_size < SDK_BATCH_SIZE:
        settings["max_export_batch_size"] = options.queue_size  # the SDK refuses a batch larger than its queue
    if "flush_interval" in raw:
        settings["schedule_delay_millis"] = options.flush_interval * 1000
    return settings


class OtelBatchLogger(PeerLogger):
    """``otel-batch``: see the module docstring.

    Caller: builds the stdlib record, ``LoggingHandler`` translates it, the
    processor appends it to its queue (never blocks). Worker thread: encodes
    and writes. ``flush()`` = ``force_flush`` (exports what is queued, in the
    caller); ``close()`` = ``shutdown`` (drains, joins the worker, closes the file).
    """

    name = "otel-batch"
    requires = "opentelemetry.sdk"
    accepts = frozenset({"path", "level", "queue_size", "overflow", "batch_size", "flush_interval"})
    crash_durability = "flushed"
    overflow_policy = "drop_old"

    @classmethod
    def check_options(cls, raw: Mapping[str, Any]) -> None:
        overflow = raw.get("overflow")
        if overflow is not None and overflow != cls.overflow_policy:
            raise ValueError(
                f"overflow: {overflow!r} is not supported by {cls.name} (BatchLogRecordProcessor's queue is a "
                "deque(maxlen=max_queue_size): a full queue evicts the oldest record; only 'drop_old' is possible)"
            )
        queue_size, batch_size = raw.get("queue_size"), raw.get("batch_size")
        if type(queue_size) is int and type(batch_size) is int and batch_size > queue_size:
            raise ValueError(f"batch_size: {batch_size} > queue_size {queue_size} (the SDK needs a batch to fit its queue)")

    @classmethod
    def from_options(cls, options: Options, raw: Mapping[str, Any]) -> OtelBatchLogger:
        return cls(options, batch_settings(raw, options))

    def __init__(self, options: Options, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        assert options.path is not None
        self._shut_down = False
        self._exporter = JsonLinesFileExporter(options.path, self._reporter)
        self._provider = LoggerProvider(shutdown_on_exit=False)
        self._provider.add_log_record_processor(otel_export.BatchLogRecordProcessor(self._exporter, **(settings or {})))
        with warnings.catch_warnings():  # 1.45: "LoggingHandler in opentelemetry-sdk is deprecated"
            warnings.simplefilter("ignore", DeprecationWarning)
            self._handler = LoggingHandler(level=logging.NOTSET, logger_provider=self._provider)
        self._logger = logging.Logger(f"logbench.peer.{self.name}", options.level)
        self._logger.propagate = False
        self._logger.addHandler(self._handler)
        _lifecycle.track(self)  # the OTel docs: shut the provider down before exit; a correct user does

    def _handoff(self, ts_ns: int, level: int, msg: object, fields: Mapping[str, object]) -> None:
        self._emit_count()
        if self._closed:
            self._closed_drop()
            return
        try:
            try:
                self._logger.log(level, msg, extra=fields)
            except KeyError:  # a field named like a LogRecord attribute ("name", "args", ...) refused by makeRecord
                if RECORD_ATTRS.isdisjoint(fields):
                    raise
                self._logger.log(level, msg, extra=rename_record_attrs(fields))
        except Exception as exc:  # the SDK cleaning a hostile value (repr raises, recursion), ...
            self._drop(type(exc).__name__, f"{describe(exc)} (record dropped)")

    def flush(self, timeout: float | None = None) -> bool:
        """``force_flush``: True once every record queued before the call was exported; False after ``timeout``."""
        if self._closed:
            return True
        if timeout is None:
            return bool(self._provider.force_flush())
        outcome: list[bool] = []
        waiter = threading.Thread(
            target=lambda: outcome.append(bool(self._provider.force_flush(int(timeout * 1000)))),
            daemon=True, name="otel-force-flush",
        )
        waiter.start()
        waiter.join(timeout)
        return bool(outcome) and outcome[0]

    def _shutdown(self) -> None:
        """``LoggerProvider.shutdown``: drains the queue, joins the worker, shuts the exporter (the file) down."""
        try:
            self._provider.shutdown()
        except Exception as exc:
            self._count_bad_call()
            self._reporter.report(type(exc).__name__, f"shutting the LoggerProvider down: {describe(exc)}")
        self._logger.removeHandler(self._handler)
        self._handler.close()
        self._exporter.shutdown()  # idempotent: closes the file if the SDK gave up before calling it
        self._shut_down = True

    def _after_fork_in_child(self) -> None:
        """The SDK restarts its worker (and empties the child's copy of the queue) itself; renew our locks."""
        self._emitted.reset_after_fork()
        self._failure_lock = threading.Lock()

    def _counter_values(self) -> dict[str, int]:
        emitted = self._emitted.value()
        with self._failure_lock:
            dropped, errors = self._dropped, self._errors
        written, sink_dropped, sink_errors = self._exporter.counts()
        dropped = emitted - written if self._shut_down else dropped + sink_dropped
        return {
            "emitted": emitted,
            "written": written,
            "dropped": max(0, dropped),
            "errors": errors + sink_errors,
            "rotations": 0,
            "max_queue_depth": 0,
        }
