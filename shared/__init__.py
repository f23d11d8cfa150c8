"""Branchwork's common library: what every service needs and no service owns.

It knows events, streams, tenants and HTTP, never members or meetings.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys


class _ChineseMessagesOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Put marshmallow's Chinese messages in place the moment marshmallow is first imported.

    marshmallow copies its messages into each field when the field is built (at import time of the
    module that declares a schema), so they must be set before any schema exists. Doing it on
    marshmallow's own import, rather than importing marshmallow here, keeps what needs only the
    standard library (the offline bundle verifier imports ``shared.canonical``) free of it.
    """

    def find_spec(self, name, path, target=None):
        if name != "marshmallow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None:
            self._loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        from shared import schema_messages
        schema_messages.install()


if "marshmallow" in sys.modules:
    from shared import schema_messages
    schema_messages.install()
else:
    sys.meta_path.insert(0, _ChineseMessagesOnImport())
