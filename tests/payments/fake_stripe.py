"""A small stateful fake of the Stripe API endpoints payments uses, on loopback.

localstripe (in the lock) has no Checkout Sessions, so this implements the few endpoints we
call with Stripe's real request encoding (form-encoded, bracketed keys), response shapes,
error envelope and Idempotency-Key semantics (same key + same params = replayed response,
same key + other params = idempotency_error). Tests drive the "customer" side with
complete_session() and build webhook events with event().

Outages: ``outage_status`` answers every request with that status (500, 503...) and Stripe's
api_error envelope without processing it; ``delay_seconds`` holds every answer back that long
(longer than the client's timeout: a timeout), processing the request afterwards as Stripe
would, so the answer is lost but the session exists.
"""

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def parse_form(body: str) -> dict:
    """Decode Stripe's form encoding (a[b][0][c]=v) into nested dicts and lists."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


class StripeError(Exception):
    def __init__(self, status: int, message: str, *, type_="invalid_request_error", param=None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, "param": param}}


class FakeStripe:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.idempotent: dict[str, tuple] = {}
        self.requests: list[dict] = []
        # Process the request but answer 503 (as if the response got lost) this many times.
        self.lose_responses = 0
        self.outage_status: int | None = None
        self.delay_seconds = 0.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        # A client that timed out has closed its socket: answering it then is not an error.
        self.server.handle_error = lambda request, client_address: None
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeStripe":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- request handling -------------------------------------------------------------------

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _respond(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", _new_id("req"))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _dispatch(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if fake.delay_seconds:
                    time.sleep(fake.delay_seconds)
                split = urlsplit(self.path)
                params = parse_form(raw if method == "POST" else split.query)
                status, body, headers = fake.handle(method, split.path, params, self.headers)
                self._respond(status, body, headers)

            def do_GET(self):  # noqa: N802
                self._dispatch("GET")

            def do_POST(self):  # noqa: N802
                self._dispatch("POST")

        return Handler

    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, dict, dict]:
        auth = headers.get("Authorization", "")
        key = headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append(
                {"method": method, "path": path, "params": params, "idempotency_key": key}
            )
            if not auth.startswith("Bearer sk_"):
                return 401, {"error": {"type": "invalid_request_error", "message": "No key"}}, {}
            if self.outage_status:
                return (
                    self.outage_status,
                    {"error": {"type": "api_error", "message": "Service unavailable (fake)"}},
                    {},
                )
            if key and method == "POST" and key in self.idempotent:
                stored_path, stored_params, status, body = self.idempotent[key]
                if (stored_path, stored_params) != (path, params):
                    return (
                        400,
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used "
                                "with the same parameters they were first used with.",
                            }
                        },
                        {},
                    )
                return status, body, {"Idempotent-Replayed": "true"}
            try:
                status, body = 200, self._route(method, path, params)
            except StripeError as exc:
                status, body = exc.status, exc.body
            if key and method == "POST":
                self.idempotent[key] = (path, params, status, body)
            if self.lose_responses > 0:
                self.lose_responses -= 1
                return (
                    503,
                    {"error": {"type": "api_error", "message": "lost"}},
                    {"Stripe-Should-Retry": "true"},
                )
            return status, body, {}

    def _route(self, method: str, path: str, params: dict) -> dict:
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "checkout", "sessions"]:
            if method == "POST" and len(parts) == 3:
                return self._session_create(params)
            session = self.sessions.get(parts[3]) if len(parts) > 3 else None
            if session is None:
                raise StripeError(404, "No such checkout.session", param="session")
            if method == "GET" and len(parts) == 4:
                return session
            if method == "POST" and parts[4:] == ["expire"]:
                if session["status"] != "open":
                    raise StripeError(
                        400, 'Only Checkout Sessions with a status in ["open"] can be expired.'
                    )
                session["status"] = "expired"
                return session
        if parts[:2] == ["v1", "payment_intents"] and method == "GET" and len(parts) == 3:
            intent = self.intents.get(parts[2])
            if intent is None:
                raise StripeError(404, "No such payment_intent", param="intent")
            result = dict(intent)
            if "latest_charge" in (params.get("expand") or []):
                result["latest_charge"] = self.charges[intent["latest_charge"]]
            return result
        if parts == ["v1", "refunds"] and method == "POST":
            return self._refund_create(params)
        raise StripeError(404, f"Unrecognized request URL ({method}: {path})")

    def _session_create(self, params: dict) -> dict:
        if params.get("mode") != "payment":
            raise StripeError(400, "Missing required param: mode.", param="mode")
        if not params.get("success_url"):
            raise StripeError(400, "Missing required param: success_url.", param="success_url")
        items = params.get("line_items") or []
        if not items:
            raise StripeError(400, "line_items is required in payment mode.", param="line_items")
        total = 0
        for i, item in enumerate(items):
            price = item.get("price_data") or {}
            if price.get("currency") != params.get("currency", price.get("currency")):
                raise StripeError(400, "Currencies differ.", param=f"line_items[{i}]")
            if not (price.get("product_data") or {}).get("name"):
                raise StripeError(400, "Missing product name.", param=f"line_items[{i}]")
            total += int(price["unit_amount"]) * int(item["quantity"])
        now = int(time.time())
        expires_at = int(params.get("expires_at") or now + 24 * 3600)
        if expires_at < now + 30 * 60 or expires_at > now + 24 * 3600:
            raise StripeError(
                400,
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from "
                "Checkout Session creation.",
                param="expires_at",
            )
        session_id = _new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": (items[0].get("price_data") or {}).get("currency", "eur"),
            "customer_email": params.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": params.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params["success_url"],
            "url": f"{self.url}/pay/{session_id}",
            "line_items_sent": items,
        }
        self.sessions[session_id] = session
        return session

    def _refund_create(self, params: dict) -> dict:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None:
            raise StripeError(400, "No such payment_intent", param="payment_intent")
        charge = self.charges[intent["latest_charge"]]
        amount = int(params.get("amount") or charge["amount"] - charge["amount_refunded"])
        if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
            raise StripeError(
                400,
                f"Refund amount (€{amount / 100:.2f}) is greater than unrefunded amount on charge.",
                param="amount",
            )
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": params.get("metadata") or {},
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        charge["refunds"]["total_count"] += 1
        return refund

    # --- the customer's side and Stripe's events ----------------------------------------------

    def complete_session(self, session_id: str, *, method: str = "ideal", paid: bool = True):
        """The customer finishes paying: creates the payment intent and charge."""
        with self.lock:
            session = self.sessions[session_id]
            intent_id, charge_id = _new_id("pi"), _new_id("ch")
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": session["amount_total"],
                "amount_refunded": 0,
                "currency": session["currency"],
                "paid": paid,
                "payment_intent": intent_id,
                "payment_method_details": {"type": method, method: {}},
                "refunded": False,
                "refunds": {"object": "list", "data": [], "has_more": False, "total_count": 0},
                "status": "succeeded" if paid else "pending",
            }
            self.intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": session["currency"],
                "latest_charge": charge_id,
                "metadata": session["metadata"],
                "payment_method_types": session["payment_method_types"],
                "status": "succeeded" if paid else "processing",
            }
            session.update(
                status="complete",
                payment_intent=intent_id,
                payment_status="paid" if paid else "unpaid",
            )
            return dict(session)

    def charge_for_session(self, session_id: str) -> dict:
        intent = self.intents[self.sessions[session_id]["payment_intent"]]
        return self.charges[intent["latest_charge"]]

    @staticmethod
    def event(type_: str, obj: dict, *, event_id: str | None = None) -> dict:
        return {
            "id": event_id or _new_id("evt"),
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }
