"""What the API takes and answers, as the OpenAPI document shows it: examples of bodies
and the models of the main routes' answers."""

from __future__ import annotations

from fastapi.openapi.models import Example

PROJECT_EXAMPLES: dict[str, Example] = {
    "land": {
        "summary": "用地项目 (a project that needs land)",
        "value": {"name": "小项目", "industry": "装备制造", "area": {"min_mu": 20, "max_mu": 200}},
    },
    "factory": {
        "summary": "租赁厂房 (a project that rents a factory)",
        "value": {
            "name": "清洁机器人扩产",
            "industry": "装备制造",
            "site_kind": "factory",
            "factory": {"floor": {"min_m2": 4000, "max_m2": 12000}},
        },
    },
}
"""Project requests for the API docs; ``examples/requests`` has complete ones."""
