"""An import-linter contract type for an allow-list: ``only_imports`` (named in ``[tool.importlinter]``).

import-linter's own contracts forbid what is listed. ARCHITECTURE.md's kernel rule allows what is listed
("``*/kernels`` import only numpy and numba"), so that no new dependency, stdlib module or backgrid module
slips into a kernel unnoticed.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


class OnlyImportsContract(Contract):
    """Each package that ``source_modules`` matches imports only itself and ``allowed_modules``.

    A package's own modules (it and its descendants) may import each other; anything else they import
    directly must be in, or under, one of ``allowed_modules`` (external packages by their top-level
    name, as import-linter sees them with ``include_external_packages``). Expressions that match no
    package break the contract, so that a renamed folder cannot leave it checking nothing.
    """

    type_name = "only_imports"

    source_modules = fields.ListField(subfield=fields.ModuleExpressionField())
    allowed_modules = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:  # noqa: ARG002  # the base class fixes the signature
        expressions = self.source_modules
        allowed = [module.name for module in self.allowed_modules]
        packages = {name for e in expressions for name in graph.find_matching_modules(e.expression)}
        links = []
        for package in sorted(packages):
            for importer in sorted({package} | graph.find_descendants(package)):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if _within(imported, package) or any(_within(imported, a) for a in allowed):
                        continue
                    lines = [d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)]
                    links.append((importer, imported, lines))
        unmatched = [e.expression for e in expressions if not graph.find_matching_modules(e.expression)]
        return ContractCheck(kept=not links and not unmatched, metadata={"links": links, "unmatched": unmatched})

    def render_broken_contract(self, check: ContractCheck) -> None:
        """Print each import outside the allow-list with its lines, and each expression that matched nothing."""
        allowed = ", ".join(module.name for module in self.allowed_modules)
        for expression in check.metadata["unmatched"]:
            output.print_error(f"{expression} matches no module: nothing would be checked", bold=False)
        for importer, imported, lines in check.metadata["links"]:
            output.print_error(f"- {importer} -> {imported} (l.{', '.join(map(str, lines))}); allowed: {allowed}",
                               bold=False)
        output.new_line()
