"""Checks that a server enforces keepalive: pings every second while one call
stays open without data, and expects GOAWAY ENHANCE_YOUR_CALM "too_many_pings".

Usage: ping_flood.py PORT   (a TestService on 127.0.0.1:PORT with a strict
ping policy: interop_server.py --strict-pings, or go-policy-server -min_time 10s)
Exit status 0 when the call ends UNAVAILABLE because of too many pings.
The client is C-core (Python grpcio) with tether's own stubs from .peers/py/.
"""
import os
import sys
import time

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(_ROOT, ".peers", "py"))

import grpc  # noqa: E402
from tether_testing import messages_pb2, test_pb2_grpc  # noqa: E402


def main() -> None:
    port = int(sys.argv[1])
    options = [
        ("grpc.keepalive_time_ms", 1000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=options)
    stub = test_pb2_grpc.TestServiceStub(channel)
    # One response after 10 s: the connection carries no data meanwhile.
    req = messages_pb2.StreamingOutputCallRequest(
        response_parameters=[messages_pb2.ResponseParameters(size=1, interval_us=10_000_000)]
    )
    start = time.monotonic()
    try:
        n = sum(1 for _ in stub.StreamingOutputCall(req, timeout=15))
        print(f"ping_flood: FAIL: the call succeeded ({n} responses), no GOAWAY too_many_pings")
        sys.exit(1)
    except grpc.RpcError as e:
        took = time.monotonic() - start
        text = (e.details() or "").lower()
        if e.code() == grpc.StatusCode.UNAVAILABLE and ("too many pings" in text or "too_many_pings" in text):
            print(f"ping_flood: PASS: {e.code()} {e.details()!r} after {took:.1f} s")
            return
        print(f"ping_flood: FAIL: {e.code()} {e.details()!r} after {took:.1f} s")
        sys.exit(1)
    finally:
        channel.close()


if __name__ == "__main__":
    main()
