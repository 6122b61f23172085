"""The part of ShipHero's public GraphQL schema Orderloop uses, as SDL: the client validates its
documents against it at import (a typo in a field fails the tests, not a live call) and the
sandbox executes requests against it with graphql-core, so both sides speak one schema.

Shapes follow developer.shiphero.com (schema reference and examples): every operation returns
`{request_id, complexity, data}` (mutations `{request_id, complexity, order}`), lists are Relay
connections whose `first`/`after` sit on the `data` field, and amounts are strings. Only the
fields Orderloop reads or writes are declared.

The returns part (`return_create`, `return`, `returns`, the `Return` and `ReturnLineItem` types)
follows the schema introspected from ShipHero's endpoint by sgqlc-codegen
(outliers-rocks/shiphero-python `shiphero/shiphero_schema.py`): `CreateReturnInput` requires
`order_id, warehouse_id, return_reason, label_type, label_cost, address, dimensions,
shipping_carrier, shipping_method, line_items` and takes `partner_id` (the caller's reference);
`returns` filters by `order_id, warehouse_id, date_from, date_to`; a return line counts
`quantity`, `quantity_received`, `restock` (units restocked) and a free-text `condition`.
api-evangelist/shiphero's derived schema differs (a `line_item_id` per input line, `restock` a
Boolean); the introspected one is followed, and `restock` is read either way."""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

SDL = """
scalar ISODateTime

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

type LineItem {
  id: String
  legacy_id: Int
  sku: String
  partner_line_item_id: String
  product_name: String
  quantity: Int
  quantity_allocated: Int
  quantity_pending_fulfillment: Int
  quantity_shipped: Int
  fulfillment_status: String
  warehouse_id: String
}

type LineItemEdge { node: LineItem cursor: String }
type LineItemConnection { pageInfo: PageInfo edges: [LineItemEdge] }

type OrderAddress {
  first_name: String
  last_name: String
  company: String
  address1: String
  address2: String
  city: String
  state: String
  state_code: String
  zip: String
  country: String
  country_code: String
  email: String
  phone: String
}

type Order {
  id: String
  legacy_id: Int
  order_number: String
  partner_order_id: String
  shop_name: String
  fulfillment_status: String
  order_date: ISODateTime
  updated_at: ISODateTime
  tags: [String]
  shipping_address: OrderAddress
  line_items(first: Int, after: String): LineItemConnection
}

type OrderEdge { node: Order cursor: String }
type OrderConnection { pageInfo: PageInfo edges: [OrderEdge] }

type OrdersQueryResult {
  request_id: String
  complexity: Int
  data(first: Int, after: String): OrderConnection
}

type OrderQueryResult {
  request_id: String
  complexity: Int
  data: Order
}

type ShippingLabel {
  id: String
  legacy_id: Int
  tracking_number: String
  tracking_url: String
  carrier: String
  shipping_name: String
  shipping_method: String
  status: String
  created_date: ISODateTime
}

type ShipmentLineItem {
  id: String
  line_item_id: String
  shipping_label_id: String
  quantity: Int
  line_item: LineItem
}

type ShipmentLineItemEdge { node: ShipmentLineItem cursor: String }
type ShipmentLineItemConnection { pageInfo: PageInfo edges: [ShipmentLineItemEdge] }

type Shipment {
  id: String
  legacy_id: Int
  order_id: String
  warehouse_id: String
  created_date: ISODateTime
  completed: Boolean
  shipping_labels: [ShippingLabel]
  line_items(first: Int, after: String): ShipmentLineItemConnection
}

type ShipmentEdge { node: Shipment cursor: String }
type ShipmentConnection { pageInfo: PageInfo edges: [ShipmentEdge] }

type ShipmentsQueryResult {
  request_id: String
  complexity: Int
  data(first: Int, after: String): ShipmentConnection
}

type WarehouseProduct {
  id: String
  sku: String
  warehouse_id: String
  on_hand: Int
  allocated: Int
  available: Int
  backorder: Int
  reserve_inventory: Int
  updated_at: ISODateTime
}

type WarehouseProductEdge { node: WarehouseProduct cursor: String }
type WarehouseProductConnection { pageInfo: PageInfo edges: [WarehouseProductEdge] }

type WarehouseProductsQueryResult {
  request_id: String
  complexity: Int
  data(first: Int, after: String): WarehouseProductConnection
}

enum ReturnLabelType {
  FLAT_RATE
  FREE
  PAID
  SELF_RETURN
}

type Address {
  name: String
  address1: String
  address2: String
  city: String
  state: String
  country: String
  zip: String
  phone: String
}

type Dimensions {
  weight: String
  height: String
  width: String
  length: String
}

type ReturnLineItem {
  id: String
  legacy_id: Int
  line_item_id: String
  warehouse_id: String
  return_id: String
  quantity: Int
  quantity_received: Int
  restock: Int
  condition: String
  is_component: Boolean
  type: String
  reason: String
  created_at: ISODateTime
  updated_at: ISODateTime
  line_item: LineItem
}

type Return {
  id: String
  legacy_id: Int
  order_id: String
  partner_id: String
  reason: String
  status: String
  label_type: ReturnLabelType
  label_cost: String
  shipping_carrier: String
  shipping_method: String
  dimensions: Dimensions
  address: Address
  line_items: [ReturnLineItem]
  total_items_expected: Int
  total_items_received: Int
  total_items_restocked: Int
  created_at: ISODateTime
}

type ReturnEdge { node: Return cursor: String }
type ReturnConnection { pageInfo: PageInfo edges: [ReturnEdge] }

type ReturnQueryResult {
  request_id: String
  complexity: Int
  data: Return
}

type ReturnsQueryResult {
  request_id: String
  complexity: Int
  data(first: Int, after: String): ReturnConnection
}

type Query {
  orders(
    partner_order_id: String
    order_number: String
    shop_name: String
    warehouse_id: String
    fulfillment_status: String
    updated_from: ISODateTime
    customer_account_id: String
    analyze: Boolean
  ): OrdersQueryResult
  order(id: String!, analyze: Boolean): OrderQueryResult
  shipments(order_id: String, analyze: Boolean): ShipmentsQueryResult
  warehouse_products(
    warehouse_id: String
    sku: String
    updated_at_min: ISODateTime
    customer_account_id: String
    analyze: Boolean
  ): WarehouseProductsQueryResult
  return(id: String!, analyze: Boolean): ReturnQueryResult
  returns(
    order_id: String
    warehouse_id: String
    date_from: ISODateTime
    date_to: ISODateTime
    customer_account_id: String
    analyze: Boolean
  ): ReturnsQueryResult
}

input CreateShippingLinesInput {
  title: String!
  price: String!
  carrier: String
  method: String
}

input CreateOrderAddressInput {
  first_name: String
  last_name: String
  company: String
  address1: String
  address2: String
  city: String
  state: String
  state_code: String
  zip: String
  country: String
  country_code: String
  email: String
  phone: String
}

input CreateLineItemInput {
  sku: String!
  partner_line_item_id: String!
  quantity: Int!
  price: String!
  product_name: String
  fulfillment_status: String
  quantity_pending_fulfillment: Int
  warehouse_id: String
}

input CreateOrderInput {
  order_number: String
  partner_order_id: String
  shop_name: String
  fulfillment_status: String
  order_date: ISODateTime
  total_tax: String
  total_discounts: String
  email: String
  shipping_lines: CreateShippingLinesInput
  shipping_address: CreateOrderAddressInput!
  billing_address: CreateOrderAddressInput
  line_items: [CreateLineItemInput]
  required_ship_date: ISODateTime
  allow_partial: Boolean
  allow_split: Boolean
  tags: [String]
  customer_account_id: String
}

input CancelOrderInput {
  order_id: String!
  reason: String
  void_on_platform: Boolean
  customer_account_id: String
}

input AddressInput {
  name: String
  address1: String
  address2: String
  city: String
  state: String
  country: String
  zip: String
  phone: String
}

input DimensionsInput {
  weight: String
  height: String
  width: String
  length: String
}

input CreateReturnLineItemInput {
  sku: String!
  quantity: Int!
  return_reason: String!
  condition: String
  is_component: Boolean
}

input CreateReturnInput {
  customer_account_id: String
  order_id: String!
  warehouse_id: String!
  return_reason: String!
  label_type: ReturnLabelType!
  label_cost: String!
  address: AddressInput!
  dimensions: DimensionsInput!
  shipping_carrier: String!
  shipping_method: String!
  line_items: [CreateReturnLineItemInput]!
  tracking_number: String
  create_label: Boolean
  partner_id: String
  display_issue_refund: Boolean
}

type CreateReturnOutput {
  request_id: String
  complexity: Int
  return: Return
}

type OrderMutationOutput {
  request_id: String
  complexity: Int
  order: Order
}

type Mutation {
  order_create(data: CreateOrderInput!): OrderMutationOutput
  order_cancel(data: CancelOrderInput!): OrderMutationOutput
  return_create(data: CreateReturnInput!): CreateReturnOutput
}
"""


@cache
def schema() -> GraphQLSchema:
    return build_schema(SDL)
