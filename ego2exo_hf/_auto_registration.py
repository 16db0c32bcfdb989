"""Register `FeatureClassifier` with the Transformers Auto classes without importing torch at `import ego2exo_hf`.

Registration needs the model class (torch). So `import ego2exo_hf` only installs an import hook: when
`transformers`' Auto-model module is imported (by `from transformers import AutoModel`, say), the hook imports
`ego2exo_hf.models`, whose import registers the classes. If that module is already loaded, it registers at once.
"""

import importlib.abc
import importlib.util
import sys

AUTO_MODELS = "transformers.models.auto.modeling_auto"


def _register() -> None:
    importlib.import_module("ego2exo_hf.models")  # registers on import


class _RegisterAfterAutoModels(importlib.abc.MetaPathFinder):
    """Finds `AUTO_MODELS` through the normal finders, and registers right after the module has run."""

    def find_spec(self, fullname, path, target=None):
        if fullname != AUTO_MODELS:
            return None
        sys.meta_path.remove(self)  # once: the real finders take it from here
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            _register()

        spec.loader.exec_module = exec_module
        return spec


def register_when_transformers_loads() -> None:
    if AUTO_MODELS in sys.modules:
        _register()
    elif not any(isinstance(finder, _RegisterAfterAutoModels) for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterAutoModels())
