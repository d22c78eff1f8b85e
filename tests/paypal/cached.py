"""A PayPal delivery as a deployed hub sees it once PayPal's certificate is cached.

For bench.startup, bench/coldstart.py and tests/paypal/test_cold_path.py.

A certificate chain is generated (root -> intermediate -> PayPal's signer name) and
served by the tests' fake PayPal on 127.0.0.1; one delivery through an in-process hub
puts the checked key in Redis, as the first delivery does on a real deployment. Each
timed child then starts live (HUB_DRY_RUN=0) on that Redis, so it verifies without a
fetch and without rebuilding the chain. Its store is Redis too (REDIS_URL sets both).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hub import create_app
from hub.services import hub_of
from hub.simulate import SignedRequest
from integrations.paypal_certs import SIGNER_NAMES
from integrations.paypal_dev import issue, new_key, pem
from tests.auxil.redis import REDIS_TEST_URL, unique_prefix
from tests.paypal.conftest import WEBHOOK_ID, delivery, paypal_body
from tests.paypal.fake_paypal import CLIENT_ID, CLIENT_SECRET, fake_paypal


@contextmanager
def cached_paypal(folder: Path) -> Iterator[tuple[dict[str, str], object]]:
    """(environment for a child hub, a function making a fresh signed delivery)."""
    root_key, intermediate_key, leaf_key = new_key(), new_key(), new_key()
    root = issue(root_key, "Bench Root CA", ca=True)
    intermediate = issue(intermediate_key, "Bench Intermediate CA", issuer=(root_key, root), ca=True)
    leaf = issue(leaf_key, SIGNER_NAMES["sandbox"], issuer=(intermediate_key, intermediate))
    (folder / "roots.pem").write_bytes(pem(root))
    with fake_paypal(pem(leaf, intermediate)) as fake:
        env = {
            "HUB_DRY_RUN": "0",
            "REDIS_URL": REDIS_TEST_URL,
            "HUB_REDIS_PREFIX": unique_prefix(),
            "PAYPAL_CLIENT_ID": CLIENT_ID,
            "PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
            "PAYPAL_WEBHOOK_ID": WEBHOOK_ID,
            "PAYPAL_API_URL": fake.url,
            "PAYPAL_CA_BUNDLE": str(folder / "roots.pem"),
        }

        def signed() -> SignedRequest:
            resource = {
                "id": "2GG279541U471931P",
                "status": "DECLINED",
                "custom_id": "bench",
                "amount": {"currency_code": "EUR", "value": "15.00"},
            }
            return delivery(paypal_body("PAYMENT.CAPTURE.DENIED", resource), leaf_key)

        warm = create_app({**env, "HUB_INSTANCE_PATH": str(folder / "warm"), "HUB_TASKS": "inline"})
        request = signed()
        answer = warm.test_client().post(request.path, data=request.body, headers=request.headers)
        assert answer.status_code == 200 and fake.cert_fetches == 1, answer.get_data(as_text=True)
        try:
            yield env, signed
        finally:
            assert fake.cert_fetches == 1, "a timed child fetched the certificate: it was not cached"
            forget(env["HUB_REDIS_PREFIX"])
            hub_of(warm).store.close()


def forget(prefix: str) -> None:
    """Delete what the runs left in Redis under `prefix`."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()
