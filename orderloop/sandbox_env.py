"""Default secrets for the sandbox channels of `orderloop.yaml`, so `orderloop up` and the tests
run with no setup. Only ever a default: a variable already set in the environment wins."""

from __future__ import annotations

import os

# Environment variable -> sandbox value, for every credential the sandbox configuration names.
SANDBOX_ENV: dict[str, str] = {
    "ORDERLOOP_STOREFRONT_WEBHOOK_SECRET": "sandbox-storefront-webhook-secret",
    "ORDERLOOP_STOREFRONT_API_TOKEN": "sandbox-storefront-api-token",
    "ORDERLOOP_WMS_WEBHOOK_SECRET": "sandbox-wms-webhook-secret",
    "ORDERLOOP_WMS_API_TOKEN": "sandbox-wms-api-token",
    "ORDERLOOP_SHOPIFY_ACCESS_TOKEN": "sandbox-shopify-access-token",
    "ORDERLOOP_SHOPIFY_WEBHOOK_SECRET": "sandbox-shopify-webhook-secret",
    "ORDERLOOP_TIKTOK_APP_KEY": "sandboxappkey7",
    "ORDERLOOP_TIKTOK_APP_SECRET": "sandbox-tiktok-app-secret",
    "ORDERLOOP_TIKTOK_REFRESH_TOKEN": "ROW_sandbox-tiktok-refresh-token",
    "ORDERLOOP_BIGCOMMERCE_ACCESS_TOKEN": "sandbox-bigcommerce-x-auth-token",
    "ORDERLOOP_BIGCOMMERCE_CLIENT_SECRET": "sandbox-bigcommerce-app-client-secret",
    "ORDERLOOP_SHIPBOB_API_TOKEN": "sandbox-shipbob-api-token",
    # Standard Webhooks secrets are base64 keys behind `whsec_`.
    "ORDERLOOP_SHIPBOB_WEBHOOK_SECRET": "whsec_c2FuZGJveC1zaGlwYm9iLXdlYmhvb2stc2lnbmluZy1rZXk=",
    "ORDERLOOP_LOGIWA_USERNAME": "sandbox.api@demo-brand.test",
    "ORDERLOOP_LOGIWA_PASSWORD": "sandbox-logiwa-password",
    "ORDERLOOP_LOGIWA_WEBHOOK_TOKEN": "sandbox-logiwa-webhook-token",
    "ORDERLOOP_SHIPHERO_REFRESH_TOKEN": "sandbox-shiphero-refresh-token",
    "ORDERLOOP_SHIPHERO_WEBHOOK_SECRET": "sandbox-shiphero-shared-signature-secret",
    "ORDERLOOP_RYDERSHIP_CLIENT_ID": "sandbox-rydership-client-id",
    "ORDERLOOP_RYDERSHIP_CLIENT_SECRET": "sandbox-rydership-client-secret",
    "ORDERLOOP_RYDERSHIP_REFRESH_TOKEN": "sandbox-rydership-refresh-token",
    "ORDERLOOP_RYDERSHIP_WEBHOOK_SECRET": "sandbox-rydership-client-secret",
    "ORDERLOOP_NETSUITE_CONSUMER_KEY": "sandbox-netsuite-consumer-key",
    "ORDERLOOP_NETSUITE_CONSUMER_SECRET": "sandbox-netsuite-consumer-secret",
    "ORDERLOOP_NETSUITE_TOKEN_ID": "sandbox-netsuite-token-id",
    "ORDERLOOP_NETSUITE_TOKEN_SECRET": "sandbox-netsuite-token-secret",
    "ORDERLOOP_WALMART_CLIENT_ID": "sandbox-walmart-client-id",
    "ORDERLOOP_WALMART_CLIENT_SECRET": "sandbox-walmart-client-secret",
    "ORDERLOOP_AMAZON_CLIENT_ID": "amzn1.application-oa2-client.sandbox-orderloop",
    "ORDERLOOP_AMAZON_CLIENT_SECRET": "amzn1.oa2-cs.v1.sandbox-amazon-client-secret",
    "ORDERLOOP_AMAZON_REFRESH_TOKEN": "Atzr|sandbox-amazon-refresh-token",
    "ORDERLOOP_AMAZON_NOTIFICATION_KEY": "sandbox-amazon-notification-key",
    "ORDERLOOP_EDI_ACME_SFTP_PASSWORD": "sandbox-edi-acme-sftp-password",
    "ORDERLOOP_FILES_SFTP_PASSWORD": "sandbox-files-sftp-password",
    # The public half of the flat-file sandbox's fixed host key (connectors.flatfile.sandbox).
    "ORDERLOOP_FILES_SFTP_HOST_KEY": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDdrnih+usGtfBFqQ9ZFgcv5QAk6ZcZCz215sjFLyxaV",
    "ORDERLOOP_B2B_API_TOKEN": "sandbox-b2b-portal-api-token",
    "ORDERLOOP_B2B_WEBHOOK_SECRET": "whsec_c2FuZGJveC1iMmItcG9ydGFsLXNpZ25pbmcta2V5",
}


def apply_sandbox_env() -> None:
    """Set each sandbox credential variable that is not set yet."""
    for var, value in SANDBOX_ENV.items():
        os.environ.setdefault(var, value)
