"""Module attributes imported on first use (PEP 562), so importing a package costs nothing until it is used."""

import importlib
import sys


def lazy_attributes(module_name: str, attributes: dict):
    """`__getattr__` and `__dir__` for module `module_name`: `attributes` maps a name to the (relative) module that
    defines it; the value is imported on first access and cached in the module."""
    module = sys.modules[module_name]

    def __getattr__(name: str):
        if name not in attributes:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(attributes[name], module_name), name)
        setattr(module, name, value)
        return value

    def __dir__():
        return sorted([*vars(module), *attributes])

    return __getattr__, __dir__
