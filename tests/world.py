"""The world builder moved to harness.testing, where the pytest plugin shares it; this module keeps
the old imports working."""

from harness.testing import SYSTEM_ACTOR, World, become, connect, near

__all__ = ["SYSTEM_ACTOR", "World", "become", "connect", "near"]
