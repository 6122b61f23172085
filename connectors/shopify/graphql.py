"""The part of Shopify's GraphQL Admin API the returns role uses (REST has no returns), as SDL, and
the documents the connector sends, parsed and validated against it by graphql-core at import
(already a dependency: ShipHero's connector uses it the same way); the sandbox executes requests
against the same SDL, so both sides speak one schema.

From shopify.dev (GraphQL Admin reference, 2024-07 and later; unchanged in 2026-01): `return(id:)`
(`read_returns`), `Return {id, name, status: CANCELED|CLOSED|DECLINED|OPEN|REQUESTED, order,
reverseFulfillmentOrders}`; a reverse fulfillment order (created when a return is created or its
request approved) has `lineItems` with `totalQuantity`, `dispositions {quantity, type, location}`
and `fulfillmentLineItem {lineItem}`; `returnApproveRequest(input: {id})` approves a requested
return; `reverseFulfillmentOrderDispose(dispositionInputs: [{reverseFulfillmentOrderLineItemId,
quantity, dispositionType: RESTOCKED|NOT_RESTOCKED|PROCESSING_REQUIRED|MISSING, locationId}])`
records what became of the returned units (`locationId` required for RESTOCKED), which is what
lets the merchant refund them (guides "Manage reverse fulfillment orders", "Manage returns";
`reverseDeliveryDispose` was removed in 2025-01 for it). Business errors come back as
`userErrors {field, message, code}`; throttling as `errors[{extensions: {code: THROTTLED}}]` with
`extensions.cost.throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}`. Only the
fields Orderloop reads or writes are declared.
"""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

from connectors.graphql_documents import Document, operation

SDL = """
enum ReturnStatus { CANCELED CLOSED DECLINED OPEN REQUESTED }
enum ReverseFulfillmentOrderStatus { CANCELED CLOSED OPEN }
enum ReverseFulfillmentOrderDispositionType { MISSING NOT_RESTOCKED PROCESSING_REQUIRED RESTOCKED }

type PageInfo { hasNextPage: Boolean! endCursor: String }

type Location { id: ID! name: String }
type LineItem { id: ID! sku: String name: String quantity: Int }
type FulfillmentLineItem { id: ID! quantity: Int lineItem: LineItem! }
type Order { id: ID! legacyResourceId: String name: String }

type ReverseFulfillmentOrderDisposition {
  id: ID!
  quantity: Int!
  type: ReverseFulfillmentOrderDispositionType!
  location: Location
}

type ReverseFulfillmentOrderLineItem {
  id: ID!
  totalQuantity: Int!
  dispositions: [ReverseFulfillmentOrderDisposition!]!
  fulfillmentLineItem: FulfillmentLineItem
}
type ReverseFulfillmentOrderLineItemConnection {
  nodes: [ReverseFulfillmentOrderLineItem!]!
  pageInfo: PageInfo!
}

type ReverseFulfillmentOrder {
  id: ID!
  status: ReverseFulfillmentOrderStatus!
  lineItems(first: Int, after: String): ReverseFulfillmentOrderLineItemConnection!
}
type ReverseFulfillmentOrderConnection { nodes: [ReverseFulfillmentOrder!]! pageInfo: PageInfo! }

type Return {
  id: ID!
  name: String!
  status: ReturnStatus!
  order: Order!
  reverseFulfillmentOrders(first: Int, after: String): ReverseFulfillmentOrderConnection!
}

type ReturnUserError { field: [String!] message: String! code: String }

input ReturnApproveRequestInput { id: ID! notifyCustomer: Boolean }
type ReturnApproveRequestPayload { return: Return userErrors: [ReturnUserError!]! }

input ReverseFulfillmentOrderDisposeInput {
  reverseFulfillmentOrderLineItemId: ID!
  quantity: Int!
  dispositionType: ReverseFulfillmentOrderDispositionType!
  locationId: ID
}
type ReverseFulfillmentOrderDisposePayload {
  reverseFulfillmentOrderLineItems: [ReverseFulfillmentOrderLineItem!]
  userErrors: [ReturnUserError!]!
}

type Query { return(id: ID!): Return }

type Mutation {
  returnApproveRequest(input: ReturnApproveRequestInput!): ReturnApproveRequestPayload
  reverseFulfillmentOrderDispose(
    dispositionInputs: [ReverseFulfillmentOrderDisposeInput!]!
  ): ReverseFulfillmentOrderDisposePayload
}
"""


@cache
def schema() -> GraphQLSchema:
    return build_schema(SDL)


def document(source: str) -> Document:
    return operation(schema(), source)


RETURN = document(
    """
query ReturnForReceipt($id: ID!) {
  return(id: $id) {
    id
    name
    status
    order { id legacyResourceId }
    reverseFulfillmentOrders(first: 10) {
      nodes {
        id
        status
        lineItems(first: 50) {
          nodes {
            id
            totalQuantity
            dispositions { quantity type }
            fulfillmentLineItem { id lineItem { id sku name } }
          }
        }
      }
    }
  }
}
"""
)

RETURN_APPROVE = document(
    """
mutation ReturnApproveRequest($input: ReturnApproveRequestInput!) {
  returnApproveRequest(input: $input) {
    return { id status }
    userErrors { field message code }
  }
}
"""
)

RFO_DISPOSE = document(
    """
mutation ReverseFulfillmentOrderDispose($dispositionInputs: [ReverseFulfillmentOrderDisposeInput!]!) {
  reverseFulfillmentOrderDispose(dispositionInputs: $dispositionInputs) {
    reverseFulfillmentOrderLineItems { id dispositions { quantity type } }
    userErrors { field message code }
  }
}
"""
)
