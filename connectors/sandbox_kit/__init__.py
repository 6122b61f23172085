"""The sandbox kit: what every vendor sandbox shares, so a sandbox is mostly its payloads and
rules. A sandbox is an in-memory FastAPI app emulating one vendor's API for `make run` and the
tests; it declares its routes as tables and its error shape once, and the kit gives the rest:

- `app`: the app itself, request recording, and `GET /_sandbox`, the page that lists every
  route of a sandbox, its API and its controls, with a line of doc each. The controls every
  sandbox has are documented there, from their endpoints, and nowhere else:
  `/_sandbox/requests`, `/_sandbox/deliveries`, `/_sandbox/health`, `/_sandbox/faults`,
  `/_sandbox/config`, and the webhook controls under `/_sandbox/webhooks` (hold, release in
  order or reversed, duplicate, redeliver).
- `routes`: route tables (`Route`, `RouteTable`, `Call`).
- `store`: resource stores with ids, lookups and listing (`ResourceStore`) and the vendors'
  pagination styles.
- `errors`: the kit's error shape, a vendor's own (`VendorError`, `ErrorShape`), JSON bodies,
  bearer auth.
- `state`: what every sandbox's state holds for the kit (`SandboxState`) and its `Timers`.
- `limits`, `faults`, `knobs`, `webhooks`, `recording`: rate-limit windows, injected faults,
  run-time knobs, signed webhook delivery with duplicates and reordering on demand, what the
  sandbox received.
"""

from connectors.sandbox_kit.app import VendorSandbox, add_shutdown, create_sandbox_app, route_docs, sandbox_app
from connectors.sandbox_kit.errors import (
    ApiHeaders,
    ErrorShape,
    SandboxError,
    VendorError,
    bearer_auth,
    install_error_handler,
    kit_error_body,
    read_json,
)
from connectors.sandbox_kit.faults import FaultInjector, FaultSpec, install_fault_routes
from connectors.sandbox_kit.knobs import KnobHolder, install_config_routes, knob_errors
from connectors.sandbox_kit.limits import LeakyBucket, SlidingWindow
from connectors.sandbox_kit.recording import Delivery, RecordedRequest, Recorder, decode_body
from connectors.sandbox_kit.routes import Call, Handler, Route, RouteTable, install_routes
from connectors.sandbox_kit.state import SandboxState, Timers
from connectors.sandbox_kit.store import (
    ResourceStore,
    cursor_state,
    cursor_token,
    ids_in,
    keyset_page,
    numbered,
    numbered_page,
    offset_page,
)
from connectors.sandbox_kit.webhooks import (
    ReleaseOrder,
    Webhook,
    WebhookHeaders,
    WebhookSender,
    WebhookState,
    install_webhook_routes,
)

__all__ = [
    "ApiHeaders",
    "Call",
    "Delivery",
    "ErrorShape",
    "FaultInjector",
    "FaultSpec",
    "Handler",
    "KnobHolder",
    "LeakyBucket",
    "RecordedRequest",
    "Recorder",
    "ReleaseOrder",
    "ResourceStore",
    "Route",
    "RouteTable",
    "SandboxError",
    "SandboxState",
    "SlidingWindow",
    "Timers",
    "VendorError",
    "VendorSandbox",
    "Webhook",
    "WebhookHeaders",
    "WebhookSender",
    "WebhookState",
    "add_shutdown",
    "bearer_auth",
    "create_sandbox_app",
    "cursor_state",
    "cursor_token",
    "decode_body",
    "ids_in",
    "install_config_routes",
    "install_error_handler",
    "install_fault_routes",
    "install_routes",
    "install_webhook_routes",
    "keyset_page",
    "kit_error_body",
    "knob_errors",
    "numbered",
    "numbered_page",
    "offset_page",
    "read_json",
    "route_docs",
    "sandbox_app",
]
