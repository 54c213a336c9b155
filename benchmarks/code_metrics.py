"""Code metrics of issue 13, measured on ``src/physinv`` with the standard library's ``ast``.

Prints, and with ``--json PATH`` also writes:

1. the longest functions and methods (nested ones included, named ``outer.<locals>.inner``):
   ``lines`` counts from the ``def`` line to the last line of the body without the docstring
   (the code a reader must hold on one screen: a numpydoc docstring of 80 lines does not make
   a function long), ``total_lines`` with it; ranked by ``lines``;
2. the places outside the tests that call ``physinv.train.fit``, in ``src/`` and
   ``benchmarks/``: ``fit(...)`` under whatever name it was imported, or ``train.fit(...)``
   through an imported ``physinv.train``;
3. the imports that go from a lower layer to a higher one, for the layer order

       io / paths / limits / errors / specs / metrics (ground) ← operators ← noise ← data
       ← solvers ← nets
       ← train ← thermal ← experiments ← cli

   ``data`` sits just above ``noise``: ``data/thermal.py`` simulates cameras with
   ``physinv.operators`` and ``physinv.noise``, ``data/io.py`` and ``data/images.py`` need only
   the ground floor, and nothing below it should need data (``operators/psf.py`` and
   ``operators/spec.py`` reading files through ``physinv.data.io`` are what issue 13 moves to
   ``physinv/io.py``). Every import statement counts, at module level or inside a function,
   ``if TYPE_CHECKING`` included; imports within one layer are not counted;
4. the share of public definitions with a docstring: module-level functions and classes whose
   names do not start with ``_``, and the public methods of public classes (properties included);
5. the public solvers, networks and operators whose docstring has no numpydoc ``Parameters``
   section (a ``Parameters`` line underlined with dashes; for a class, in the class docstring or
   in ``__init__``'s). Solvers are the entries of ``physinv.solvers.registry.METHODS`` (a private
   wrapper there is followed to the public function it calls) plus the public functions and
   classes of ``solvers/*.py``; networks are the public ``nn.Module`` classes of ``nets/*.py``;
   operators are ``LinearOperator`` and its public subclasses in ``operators/*.py`` plus the
   public functions there. A callable without parameters other than ``self`` needs no section.

Nothing is imported from physinv, so the script runs without torch:
``python benchmarks/code_metrics.py --json benchmarks/results/code_metrics-<when>.json``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS = ["ground", "operators", "noise", "data", "solvers", "nets", "uq", "train", "thermal",
          "experiments", "cli"]
GROUND = {"io", "paths", "limits", "errors", "specs", "metrics", "__init__"}
SECTION = re.compile(r"^\s*(Parameters|Returns|Yields|Examples|Notes|References)\s*\n\s*-{3,}\s*$",
                     re.MULTILINE)


@dataclass
class Module:
    """One parsed source file: its dotted name, path relative to the root, and its tree."""

    name: str
    path: str
    tree: ast.Module
    defs: dict[str, ast.AST] = field(default_factory=dict)


def load(root: Path, folder: str) -> list[Module]:
    """Parse every ``.py`` file under ``root/folder``; names are dotted from ``src``."""
    modules = []
    for path in sorted((root / folder).rglob("*.py")):
        rel = path.relative_to(root)
        parts = list(path.relative_to(root / "src").with_suffix("").parts) \
            if folder.startswith("src") else list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
        module = Module(".".join(parts), str(rel), tree)
        module.defs = {n.name: n for n in tree.body
                       if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
        modules.append(module)
    return modules


# --- 1. function lengths -----------------------------------------------------------------------

def functions(modules: list[Module]) -> list[dict]:
    """Every function and method, with its length in lines (docstring excluded), longest first."""
    found = []

    def visit(node, module, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = prefix + child.name
                total = child.end_lineno - child.lineno + 1
                first = child.body[0]
                doc = (first.end_lineno - first.lineno + 1) if ast.get_docstring(child) else 0
                found.append({"name": name, "file": module.path, "line": child.lineno,
                              "lines": total - doc, "total_lines": total})
                visit(child, module, name + ".<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, module, prefix + child.name + ".")
            else:
                visit(child, module, prefix)

    for module in modules:
        visit(module.tree, module, "")
    return sorted(found, key=lambda f: (-f["lines"], f["file"], f["line"]))


# --- 2. calls of physinv.train.fit -------------------------------------------------------------

def fit_calls(modules: list[Module]) -> list[str]:
    """``file:line`` of every call of ``physinv.train.fit`` under any imported name."""
    places = []
    for module in modules:
        if module.name == "physinv.train.fit":
            continue
        names, owners = set(), set()
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    bound = alias.asname or alias.name
                    if node.module in ("physinv.train", "physinv.train.fit") \
                            and alias.name == "fit":
                        names.add(bound)
                    elif f"{node.module}.{alias.name}" == "physinv.train":
                        owners.add(bound)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in ("physinv.train", "physinv.train.fit") and alias.asname:
                        owners.add(alias.asname)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in names:
                places.append(f"{module.path}:{node.lineno}")
            elif isinstance(func, ast.Attribute) and func.attr == "fit" \
                    and ast.unparse(func.value) in owners | {"physinv.train"}:
                places.append(f"{module.path}:{node.lineno}")
    return sorted(set(places), key=lambda p: (p.split(":")[0], int(p.split(":")[1])))


# --- 3. layering -------------------------------------------------------------------------------

def layer(dotted: str) -> int | None:
    """The layer index of a ``physinv`` module, ``None`` outside physinv."""
    parts = dotted.split(".")
    if parts[0] != "physinv":
        return None
    if len(parts) == 1:
        return 0
    top = parts[1]
    if top in GROUND:
        return 0
    if top.startswith("cli"):
        return LAYERS.index("cli")
    if top in LAYERS:
        return LAYERS.index(top)
    return None


def resolve(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` reads from (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    if not module.path.endswith("__init__.py"):
        package = package[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def upward_imports(modules: list[Module]) -> tuple[list[dict], list[str]]:
    """Imports from a lower-layer module of a higher-layer one; modules with no layer."""
    upward, unplaced = [], []
    for module in modules:
        own = layer(module.name)
        if own is None:
            unplaced.append(module.name)
            continue
        for node in ast.walk(module.tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = resolve(module, node)
                # `from physinv import train` imports the package physinv.train
                targets = [f"{base}.{a.name}" if base == "physinv" else base for a in node.names]
            for target in dict.fromkeys(targets):
                theirs = layer(target)
                if theirs is not None and theirs > own:
                    upward.append({"file": module.path, "line": node.lineno,
                                   "from": f"{module.name} ({LAYERS[own]})",
                                   "imports": f"{target} ({LAYERS[theirs]})"})
    return upward, unplaced


# --- 4. docstrings -----------------------------------------------------------------------------

def public_definitions(modules: list[Module]) -> list[tuple[str, ast.AST]]:
    """(qualified name, node) of module-level public functions/classes and their methods."""
    found = []
    for module in modules:
        for name, node in module.defs.items():
            if name.startswith("_"):
                continue
            found.append((f"{module.name}.{name}", node))
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) \
                            and not item.name.startswith("_"):
                        found.append((f"{module.name}.{name}.{item.name}", item))
    return found


def docstring_share(modules: list[Module]) -> dict:
    defs = public_definitions(modules)
    missing = [name for name, node in defs if not ast.get_docstring(node)]
    sections = {}
    for _, node in defs + [(m.name, m.tree) for m in modules]:
        for match in SECTION.finditer(ast.get_docstring(node) or ""):
            sections[match.group(1)] = sections.get(match.group(1), 0) + 1
    return {"public": len(defs), "documented": len(defs) - len(missing),
            "share": round((len(defs) - len(missing)) / max(len(defs), 1), 4),
            "sections": dict(sorted(sections.items())), "undocumented": missing}


# --- 5. numpydoc Parameters --------------------------------------------------------------------

def has_parameters_section(node: ast.AST) -> bool:
    docs = [ast.get_docstring(node) or ""]
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef)
                     and n.name == "__init__"), None)
        docs.append(ast.get_docstring(init) or "" if init else "")
    return any(m.group(1) == "Parameters" for d in docs for m in SECTION.finditer(d))


def takes_parameters(node: ast.AST) -> bool:
    """Whether a function (or a class's ``__init__``) has parameters besides self/cls."""
    if isinstance(node, ast.ClassDef):
        init = next((n for n in node.body if isinstance(n, ast.FunctionDef)
                     and n.name == "__init__"), None)
        if init is None:
            # a dataclass documents its fields; a plain subclass inherits its parent's
            return any(isinstance(n, ast.AnnAssign) for n in node.body)
        node = init
    a = node.args
    names = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]
    names += [p.arg for p in (a.vararg, a.kwarg) if p]
    return any(n not in ("self", "cls") for n in names)


def subclasses(modules: list[Module], roots: set[str]) -> list[tuple[Module, ast.ClassDef]]:
    """Classes whose bases reach one of ``roots`` (by base name, transitively)."""
    known, found, changed = set(roots), {}, True
    while changed:
        changed = False
        for module in modules:
            for name, node in module.defs.items():
                if not isinstance(node, ast.ClassDef) or (module.name, name) in found:
                    continue
                bases = {ast.unparse(b).split(".")[-1] for b in node.bases}
                if bases & known:
                    found[(module.name, name)] = (module, node)
                    known.add(name)
                    changed = True
    return list(found.values())


def registry_methods(modules: list[Module]) -> list[tuple[str, str]]:
    """(registry name, dotted target) of ``physinv.solvers.registry.METHODS``."""
    registry = next((m for m in modules if m.name == "physinv.solvers.registry"), None)
    if registry is None:
        return []
    imported = {}
    for node in ast.walk(registry.tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    table = next((n.value for n in registry.tree.body if isinstance(n, ast.Assign)
                  and any(getattr(t, "id", "") == "METHODS" for t in n.targets)), None)
    if not isinstance(table, ast.Dict):
        return []

    def is_function(dotted):
        hit = locate(modules, dotted)
        return hit is not None and isinstance(hit[1], ast.FunctionDef)

    pairs = []
    for key, value in zip(table.keys, table.values, strict=True):
        name = value.id
        if name in imported:
            pairs.append((key.value, imported[name]))
            continue
        wrapper = registry.defs[name]
        callees = [n.func.id for n in ast.walk(wrapper) if isinstance(n, ast.Call)
                   and isinstance(n.func, ast.Name) and n.func.id in imported]
        callees = [c for c in callees if is_function(imported[c])]
        pairs.append((key.value, imported[callees[0]] if callees else
                      f"{registry.name}.{name}"))
    return pairs


def locate(modules: list[Module], dotted: str) -> tuple[Module, ast.AST] | None:
    """The definition of ``dotted``, following one re-export through a package ``__init__``."""
    by_name = {m.name: m for m in modules}
    module_name, _, name = dotted.rpartition(".")
    module = by_name.get(module_name)
    if module is None:
        return None
    if name in module.defs:
        return module, module.defs[name]
    for node in module.tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            if any((a.asname or a.name) == name for a in node.names):
                return locate(modules, f"{node.module}.{name}")
    return None


def without_parameters(modules: list[Module]) -> dict:
    """Public solvers, networks and operators with no numpydoc ``Parameters`` section."""
    def in_package(package):
        return [m for m in modules if m.name.startswith(f"physinv.{package}.")
                or m.name == f"physinv.{package}"]

    groups = {"solvers": {}, "networks": {}, "operators": {}}
    for key, target in registry_methods(modules):
        hit = locate(modules, target)
        if hit:
            dotted = f"{hit[0].name}.{hit[1].name}"
            keys = groups["solvers"].get(dotted, (None, None, None))[2]
            groups["solvers"][dotted] = (hit[0], hit[1], f"{keys}', '{key}" if keys else key)
    for module in in_package("solvers"):
        for name, node in module.defs.items():
            if not name.startswith("_"):
                groups["solvers"].setdefault(f"{module.name}.{name}", (module, node, None))
    for module, node in subclasses(in_package("nets"), {"nn.Module", "Module"}):
        if not node.name.startswith("_"):
            groups["networks"][f"{module.name}.{node.name}"] = (module, node, None)
    ops = in_package("operators")
    for module in ops:
        if "LinearOperator" in module.defs:
            groups["operators"][f"{module.name}.LinearOperator"] = (
                module, module.defs["LinearOperator"], None)
    for module, node in subclasses(ops, {"LinearOperator"}):
        if not node.name.startswith("_"):
            groups["operators"][f"{module.name}.{node.name}"] = (module, node, None)
    for module in ops:
        for name, node in module.defs.items():
            if not name.startswith("_") and isinstance(node, ast.FunctionDef):
                groups["operators"][f"{module.name}.{name}"] = (module, node, None)
    result = {}
    for group, entries in groups.items():
        needing = {k: v for k, v in entries.items() if takes_parameters(v[1])}
        missing = [f"{k}" + (f" (registry '{v[2]}')" if v[2] else "")
                   for k, v in sorted(needing.items()) if not has_parameters_section(v[1])]
        result[group] = {"checked": len(needing), "without_parameters": missing}
    return result


# --- report ------------------------------------------------------------------------------------

def measure(root: Path) -> dict:
    src = load(root, "src/physinv")
    bench = load(root, "benchmarks") if (root / "benchmarks").is_dir() else []
    funcs = functions(src)
    upward, unplaced = upward_imports(src)
    return {
        "root": str(root),
        "files": len(src),
        "lines": sum(len((root / m.path).read_text(encoding="utf-8").splitlines())
                     for m in src),
        "longest_function": funcs[0] if funcs else None,
        "longest_10": funcs[:10],
        "functions_over_80_lines": sum(f["lines"] > 80 for f in funcs),
        "fit_calls": fit_calls(src + bench),
        "layer_order": LAYERS,
        "upward_imports": upward,
        "modules_without_layer": unplaced,
        "docstrings": docstring_share(src),
        "numpydoc_parameters": without_parameters(src),
    }


def summary(m: dict) -> str:
    lines = [f"physinv: {m['files']} files, {m['lines']} lines ({m['root']})", ""]
    f = m["longest_function"]
    lines.append(f"longest function: {f['name']} ({f['file']}:{f['line']}) {f['lines']} lines "
                 f"without its docstring ({f['total_lines']} with); "
                 f"{m['functions_over_80_lines']} functions over 80 lines")
    lines += [f"  {g['lines']:4d} ({g['total_lines']:4d})  {g['name']}  {g['file']}:{g['line']}"
              for g in m["longest_10"]]
    lines += ["", f"calls of physinv.train.fit outside tests: {len(m['fit_calls'])}"]
    lines += [f"  {p}" for p in m["fit_calls"]]
    lines += ["", "layers: " + " ← ".join(m["layer_order"]),
              f"lower→higher imports: {len(m['upward_imports'])}"]
    lines += [f"  {u['file']}:{u['line']}  {u['from']} imports {u['imports']}"
              for u in m["upward_imports"]]
    if m["modules_without_layer"]:
        lines.append("  modules with no layer: " + ", ".join(m["modules_without_layer"]))
    d = m["docstrings"]
    lines += ["", f"public definitions with a docstring: {d['documented']}/{d['public']} "
              f"= {100 * d['share']:.1f} %", "  numpydoc sections: " +
              ", ".join(f"{k} {v}" for k, v in d["sections"].items())]
    for group, g in m["numpydoc_parameters"].items():
        lines += ["", f"{group} without numpydoc Parameters: {len(g['without_parameters'])} "
                  f"of {g['checked']}"]
        lines += [f"  {name}" for name in g["without_parameters"]]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    metrics = measure(args.root.resolve())
    print(summary(metrics))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
