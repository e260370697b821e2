"""Registries of the kinds a workers config names: each kind is one class, registered by name.

:class:`Registry` is the generic name -> class table; :data:`WORKER_KINDS` holds the worker
kinds (``@register_worker("mlp")``) and :data:`pase.targets.base.TARGET_KINDS` the target kinds
(``@register_target("lps")``). Registering sets the class attribute ``kind`` to the name.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from pase.workers.base import Worker

C = TypeVar("C", bound=type)


class Registry(Generic[C]):
    """Classes by kind name, in registration order; ``what`` names the table in errors."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._classes: dict[str, C] = {}

    def register(self, kind: str) -> Callable[[C], C]:
        """Class decorator: register ``cls`` as ``kind`` and set ``cls.kind = kind``.

        Raises ValueError for an empty or non-identifier name or one already taken, TypeError
        for an abstract class.
        """

        def decorate(cls: C) -> C:
            if not isinstance(kind, str) or not kind.isidentifier():
                raise ValueError(f"{self.what} name must be an identifier, got {kind!r}")
            if kind in self._classes:
                taken = self._classes[kind]
                raise ValueError(
                    f"{self.what} {kind!r} is already registered "
                    f"({taken.__module__}.{taken.__qualname__})"
                )
            if inspect.isabstract(cls):
                missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
                raise TypeError(f"{self.what} {kind!r}: {cls.__qualname__} is abstract ({missing})")
            cls.kind = kind  # type: ignore[attr-defined]
            self._classes[kind] = cls
            return cls

        return decorate

    def unregister(self, kind: str) -> C:
        """Remove ``kind`` (e.g. a test's own kind); returns its class."""
        cls = self.get(kind)
        del self._classes[kind]
        return cls

    def get(self, kind: str) -> C:
        """The class registered as ``kind``; KeyError naming the known kinds."""
        try:
            return self._classes[kind]
        except KeyError:
            raise KeyError(f"unknown {self.what} {kind!r} (known: {self.names})") from None

    @property
    def names(self) -> list[str]:
        """Registered kind names in registration order."""
        return list(self._classes)

    def __contains__(self, kind: object) -> bool:
        return kind in self._classes

    def __iter__(self) -> Iterator[C]:
        return iter(list(self._classes.values()))

    def __len__(self) -> int:
        return len(self._classes)


WORKER_KINDS: Registry[type[Worker]] = Registry("worker kind")
"""Worker kinds by name: the ``type`` of a worker entry (``mlp``, ``decoder``, ``lim``, ...)."""
register_worker = WORKER_KINDS.register
"""Class decorator registering a :class:`pase.workers.base.Worker` subclass as a worker kind."""
