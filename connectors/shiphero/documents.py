"""The GraphQL documents Orderloop sends ShipHero, parsed and validated by graphql-core against
`schema.SDL` when this module is imported, and sent as printed by graphql-core with their
variables beside them (never spliced into the text).

graphql-core (the reference implementation's Python port, already a dependency of the stack)
was chosen over a full client such as gql: Orderloop needs parsing, validation and printing of a
handful of fixed documents; the transport, auth and error tree stay in `VendorClient`."""

from __future__ import annotations

from graphql import DocumentNode, parse

from connectors.graphql_documents import Document, operation
from connectors.shiphero.schema import schema


def document(source: str, *fragments: DocumentNode) -> Document:
    """Parse `source` (one named operation), join the `fragments` it spreads and validate the
    whole against ShipHero's schema; a mistake raises at import."""
    return operation(schema(), source, *fragments)


ORDER_FIELDS = parse(
    """
fragment OrderFields on Order {
  id
  legacy_id
  order_number
  partner_order_id
  shop_name
  fulfillment_status
  updated_at
}
"""
)

ORDER_CREATE = document(
    """
mutation OrderCreate($data: CreateOrderInput!) {
  order_create(data: $data) {
    request_id
    complexity
    order { ...OrderFields }
  }
}
""",
    ORDER_FIELDS,
)

ORDER_CANCEL = document(
    """
mutation OrderCancel($data: CancelOrderInput!) {
  order_cancel(data: $data) {
    request_id
    complexity
    order { ...OrderFields }
  }
}
""",
    ORDER_FIELDS,
)

ORDERS_BY_PARTNER_ID = document(
    """
query OrdersByPartnerId($partner_order_id: String!, $shop_name: String, $first: Int!, $after: String) {
  orders(partner_order_id: $partner_order_id, shop_name: $shop_name) {
    request_id
    complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { ...OrderFields } }
    }
  }
}
""",
    ORDER_FIELDS,
)

ORDER = document(
    """
query Order($id: String!) {
  order(id: $id) {
    request_id
    complexity
    data { ...OrderFields }
  }
}
""",
    ORDER_FIELDS,
)

SHIPMENTS_OF_ORDER = document(
    """
query ShipmentsOfOrder($order_id: String!, $first: Int!, $after: String) {
  shipments(order_id: $order_id) {
    request_id
    complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          order_id
          warehouse_id
          created_date
          shipping_labels { id tracking_number tracking_url carrier shipping_method status created_date }
          line_items(first: 100) {
            edges { node { id line_item_id shipping_label_id quantity line_item { sku partner_line_item_id } } }
          }
        }
      }
    }
  }
}
"""
)

WAREHOUSE_PRODUCTS = document(
    """
query WarehouseProducts($warehouse_id: String, $updated_at_min: ISODateTime, $first: Int!, $after: String) {
  warehouse_products(warehouse_id: $warehouse_id, updated_at_min: $updated_at_min) {
    request_id
    complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { sku warehouse_id on_hand allocated available backorder updated_at } }
    }
  }
}
"""
)

# --- returns ---

ORDERS_BY_NUMBER = document(
    """
query OrdersByNumber($order_number: String!, $shop_name: String, $first: Int!, $after: String) {
  orders(order_number: $order_number, shop_name: $shop_name) {
    request_id
    complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          ...OrderFields
          shipping_address { first_name last_name company address1 address2 city state zip country phone }
          line_items(first: 100) {
            edges { node { id sku partner_line_item_id quantity quantity_shipped warehouse_id } }
          }
        }
      }
    }
  }
}
""",
    ORDER_FIELDS,
)

RETURN_FIELDS = parse(
    """
fragment ReturnFields on Return {
  id
  legacy_id
  order_id
  partner_id
  reason
  status
  label_type
  shipping_carrier
  created_at
  total_items_expected
  total_items_received
  total_items_restocked
  line_items {
    id
    line_item_id
    warehouse_id
    quantity
    quantity_received
    restock
    condition
    reason
    updated_at
    line_item { sku partner_line_item_id }
  }
}
"""
)

RETURN_CREATE = document(
    """
mutation ReturnCreate($data: CreateReturnInput!) {
  return_create(data: $data) {
    request_id
    complexity
    return { ...ReturnFields }
  }
}
""",
    RETURN_FIELDS,
)

RETURN = document(
    """
query Return($id: String!) {
  return(id: $id) {
    request_id
    complexity
    data { ...ReturnFields }
  }
}
""",
    RETURN_FIELDS,
)

RETURNS = document(
    """
query Returns($order_id: String, $date_from: ISODateTime, $first: Int!, $after: String) {
  returns(order_id: $order_id, date_from: $date_from) {
    request_id
    complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges { node { ...ReturnFields } }
    }
  }
}
""",
    RETURN_FIELDS,
)
