"""GraphQL documents a connector sends, checked once at import: parsed, validated by graphql-core
against the part of the vendor's schema the connector declares (a typo in a field fails the
tests, not a live call), and printed; the variables travel beside the text, never spliced in.
ShipHero's and Shopify's connectors build theirs with `operation`."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import DocumentNode, FieldNode, GraphQLSchema, OperationDefinitionNode, parse, print_ast, validate


@dataclass(frozen=True)
class Document:
    """One operation: its name (some vendors echo it in their errors), the root field whose
    result the client reads, and the text sent."""

    name: str
    root_field: str
    text: str


def operation(schema: GraphQLSchema, source: str, *fragments: DocumentNode) -> Document:
    """Parse `source` (one named operation selecting one root field), join the `fragments` it
    spreads and validate the whole against `schema`; a mistake raises `ValueError`."""
    parsed = parse(source)
    node = DocumentNode(definitions=(*parsed.definitions, *(d for f in fragments for d in f.definitions)))
    problems = validate(schema, node)
    if problems:
        raise ValueError("; ".join(p.message for p in problems))
    [definition] = [d for d in node.definitions if isinstance(d, OperationDefinitionNode)]
    assert definition.name is not None, "every document names its operation"
    [root] = definition.selection_set.selections
    assert isinstance(root, FieldNode), "every document selects one root field"
    return Document(definition.name.value, root.name.value, print_ast(node))
