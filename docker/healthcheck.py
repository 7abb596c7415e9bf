"""Container health check: GET /healthz on this container's gunicorn; exit 0 when it answers 200.

The production settings only answer for DJANGO_ALLOWED_HOSTS, so the request names the first of
them (a leading-dot wildcard becomes a concrete name). /healthz is exempt from the HTTPS
redirect (SECURE_REDIRECT_EXEMPT) because the probe and load balancers speak plain HTTP.
"""

import http.client
import os
import sys


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    hosts = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = hosts[0] if hosts else "localhost"
    if host == "*":
        host = "localhost"
    elif host.startswith("."):
        host = "healthcheck" + host
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request("GET", "/healthz", headers={"Host": host})
        response = connection.getresponse()
        body = response.read(200)
    except OSError as error:
        print(f"healthcheck: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if response.status != 200:
        print(f"healthcheck: HTTP {response.status} {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
