"""What can be run: backend names (reference loggers, peers) and scenario names, and resolving them.

Backend names resolve in this order:

1. ``loggers.BACKENDS`` (the reference loggers) -> ``functools.partial(loggers.create, name)``;
2. ``harness.peers.PEERS`` (name -> factory), imported lazily; its absence, or a
   failure importing it, just means no peers;
3. ``"module:attribute"`` -> that attribute (a factory) of an importable module
   (used by tests to run planted backends).

Scenario names resolve through ``scenarios.SCENARIOS`` ("name" -> "module:function"); the function
pooling a scenario's rounds, if it has one, through ``scenarios.ROUNDS``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "baseline_backends",
    "call_kwargs",
    "peer_backends",
    "peers_problem",
    "reference_backends",
    "resolve_factory",
    "resolve_merge",
    "resolve_scenario",
    "scenario_names",
]

_peers_error: list[str] = []


def reference_backends() -> tuple[str, ...]:
    """The reference loggers, in registry order."""
    import loggers

    return tuple(loggers.BACKENDS)


def baseline_backends() -> tuple[str, ...]:
    """Reference backends that write nothing (``null``): the baseline, not a candidate."""
    import loggers

    return tuple(name for name in loggers.BACKENDS if not loggers.backend_class(name).writes_file)


def _peers() -> Mapping[str, Any]:
    try:
        module = importlib.import_module("harness.peers")
    except ImportError as exc:
        if getattr(exc, "name", None) not in ("harness.peers",):
            _peers_error.append(f"harness.peers failed to import: {exc}")
        return {}
    except Exception as exc:  # a broken peers module must not stop the reference run
        _peers_error.append(f"harness.peers failed to import: {type(exc).__name__}: {exc}")
        return {}
    peers = getattr(module, "PEERS", None)
    return peers if isinstance(peers, Mapping) else {}


def peer_backends() -> tuple[str, ...]:
    """Names in ``harness.peers.PEERS`` (empty if that module is absent or broken)."""
    return tuple(name for name in _peers() if name not in reference_backends())


def peers_problem() -> str | None:
    """Why peers could not be loaded, if they could not (for a warning)."""
    return _peers_error[-1] if _peers_error else None


def scenario_names() -> tuple[str, ...]:
    """Registered scenarios, in registry order."""
    from scenarios import SCENARIOS

    return tuple(SCENARIOS)


def resolve_factory(name: str) -> Callable[..., Any]:
    """The backend factory for ``name`` (see the module docstring). Raises ValueError if unknown."""
    import loggers

    if name in loggers.BACKENDS:
        return functools.partial(loggers.create, name)
    peers = _peers()
    if name in peers:
        return _as_factory(peers[name])
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
        if callable(factory):
            return factory  # type: ignore[no-any-return]
    raise ValueError(f"unknown backend {name!r} (reference: {', '.join(loggers.BACKENDS)}; peers: "
                     f"{', '.join(peers) or 'none'})")


def _as_factory(entry: Any) -> Callable[..., Any]:
    """A PEERS entry is a factory, or a "module:attribute" string naming one."""
    if isinstance(entry, str) and ":" in entry:
        module_name, _, attribute = entry.partition(":")
        entry = getattr(importlib.import_module(module_name), attribute)
    if not callable(entry):
        raise ValueError(f"peer entry {entry!r} is not a factory")
    return entry  # type: ignore[no-any-return]


def resolve_scenario(name: str) -> Callable[..., Any]:
    """The scenario function registered as ``name``. Raises ValueError if unknown."""
    from scenarios import SCENARIOS

    try:
        target = SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r} (available: {', '.join(SCENARIOS)})") from None
    return _imported(target)


def resolve_merge(name: str) -> Callable[..., Any] | None:
    """The function pooling ``name``'s rounds (``scenarios.ROUNDS``), or None: that scenario runs once."""
    from scenarios import ROUNDS

    target = ROUNDS.get(name)
    return None if target is None else _imported(target)


def _imported(target: str) -> Callable[..., Any]:
    """The function a registry's ``"module:function"`` names."""
    module_name, _, function = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module_name), function)
    return fn


def call_kwargs(fn: Callable[..., Any], **available: Any) -> dict[str, Any]:
    """The subset of ``available`` keyword arguments that ``fn`` accepts (all of them for ``**kwargs``)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(available)
    return {key: value for key, value in available.items() if key in params}
