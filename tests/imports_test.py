"""The package's imports point one way: no circles, nothing imported from a layer above.

Read from the source (function-level imports included), and with the import a
Python ``import a.b.c`` makes implicitly of its package ``a.b``'s
``__init__``. The root ``tfgan_stable/__init__.py`` imports everything (so
that Keras finds every class) and is left out.
"""

import ast
import os

from helpers import REPO

PACKAGE = "tfgan_stable"

# Bottom to top: a module may import from its own layer (without circles) and below.
LAYERS = [
    ["errors", "log", "_backend", "hardware", "utils", "cli"],
    ["losses", "penalties", "constraints", "schedules", "packing", "augment",
     "optimizers", "families"],
    ["config"],
    ["fast", "networks", "distribute",
     "memory", "data", "metrics"],
    ["export", "callbacks", "progressive"],
    ["gans"],
    ["registry", "build", "workdir", "interpolation"],
    ["train_lib"],
    ["main", "eval_main", "interpolate_main"],
]


def modules():
    """``{module name: source path}`` for every module of the package."""
    found = {}
    root = os.path.join(REPO, PACKAGE)
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                module = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                found[module.removesuffix(".__init__")] = path
    return found


def imports_of(module, path, known):
    """The package's modules that ``module`` imports, at any depth of its code."""
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    with open(path) as f:
        tree = ast.parse(f.read())
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in known else base)
    edges = set()
    for target in targets:
        if not target.startswith(PACKAGE + "."):
            continue
        parts = target.split(".")
        # importing a.b.c runs a.b's __init__ too (the root's is left out)
        edges.update(".".join(parts[:i]) for i in range(2, len(parts) + 1))
    edges.discard(module)
    # a package's own submodules, imported implicitly by their parent, are not edges up
    return {edge for edge in edges if edge in known and not module.startswith(edge + ".")}


def graph():
    known = modules()
    return {module: imports_of(module, path, known) for module, path in known.items()
            if module != PACKAGE}


def layer_of(module):
    name = module.removeprefix(PACKAGE + ".")
    for index, layer in enumerate(LAYERS):
        if name.split(".")[0] in layer:
            return index
    raise AssertionError(f"{module} is in no layer of tests/imports_test.py: add it")


def test_no_import_circles():
    edges = graph()
    state, path = {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                circle = path[path.index(target):] + [target]
                raise AssertionError("import circle: " + " -> ".join(circle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_no_module_imports_from_a_layer_above():
    upward = [f"{module} (layer {layer_of(module)}) imports {target} "
              f"(layer {layer_of(target)})"
              for module, targets in sorted(graph().items()) for target in sorted(targets)
              if layer_of(target) > layer_of(module)]
    assert not upward, "\n".join(upward)


def test_the_config_imports_no_model():
    models = {f"{PACKAGE}.{name}" for name in ("gans", "networks", "build", "registry",
                                                "layers", "fast")}
    reached, todo = set(), [f"{PACKAGE}.config"]
    edges = graph()
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in reached:
                reached.add(target)
                todo.append(target)
    imported = sorted(m for m in reached if any(m == x or m.startswith(x + ".") for x in models))
    assert not imported, f"config imports models: {imported}"
