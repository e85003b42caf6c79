"""The people tests act as: every change to a store names who made it."""

from __future__ import annotations

from layers.store.audit import Actor

TESTER = Actor("测试员 tester", "admin")
