"""A C-core gRPC interop client (Python grpcio) built from tether's own protos.

It runs the standard interop cases (gRPC's doc/interop-test-descriptions.md)
with stubs generated from proto/grpc/testing/*.proto and
proto/grpc/health/v1/health.proto (scripts/install-peers.sh puts them in
.peers/py/). Passing against grpc-go's interop server shows that our schemas
are wire-compatible with the upstream ones.

Usage:
  interop_client.py --port PORT [--host 127.0.0.1] [--test-case all|a,b,c]
                    [--tls --ca FILE --server-host-override NAME]
Prints PASS/FAIL per case; the exit status is the number of failed cases.
Besides the 14 standard cases there is `health` (Check on grpc.health.v1),
which is not part of "all".
"""
import argparse
import os
import queue
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(_ROOT, ".peers", "py"))

import grpc  # noqa: E402
from tether_health import health_pb2, health_pb2_grpc  # noqa: E402
from tether_testing import empty_pb2, messages_pb2, test_pb2_grpc  # noqa: E402

CASES = [
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
]
REQUEST_SIZES = [27182, 8, 1828, 45904]
RESPONSE_SIZES = [31415, 9, 2653, 58979]
SPECIAL_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
TIMEOUT = 10


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def payload(size):
    return messages_pb2.Payload(body=b"\0" * size)


def streaming_request(response_size, request_size, status=None):
    req = messages_pb2.StreamingOutputCallRequest(
        response_parameters=[messages_pb2.ResponseParameters(size=response_size)],
        payload=payload(request_size),
    )
    if status is not None:
        req.response_status.CopyFrom(status)
    return req


class Requests:
    """A request stream the test feeds one message at a time."""

    _END = object()

    def __init__(self):
        self._q = queue.Queue()

    def send(self, msg):
        self._q.put(msg)

    def close(self):
        self._q.put(self._END)

    def __iter__(self):
        while True:
            msg = self._q.get()
            if msg is self._END:
                return
            yield msg


def expect_code(fn, code, what):
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, f"{what}: got {e.code()} {e.details()!r}, want {code}")
        return e
    raise Failed(f"{what}: succeeded, want {code}")


def empty_unary(stub, _channel):
    check(stub.EmptyCall(empty_pb2.Empty(), timeout=TIMEOUT) == empty_pb2.Empty(), "response is not Empty")


def large_unary(stub, _channel):
    resp = stub.UnaryCall(
        messages_pb2.SimpleRequest(response_size=314159, payload=payload(271828)), timeout=TIMEOUT
    )
    check(len(resp.payload.body) == 314159, f"payload of {len(resp.payload.body)} bytes")


def client_streaming(stub, _channel):
    reqs = (messages_pb2.StreamingInputCallRequest(payload=payload(n)) for n in REQUEST_SIZES)
    resp = stub.StreamingInputCall(reqs, timeout=TIMEOUT)
    check(resp.aggregated_payload_size == 74922, f"aggregated size {resp.aggregated_payload_size}")


def server_streaming(stub, _channel):
    req = messages_pb2.StreamingOutputCallRequest(
        response_parameters=[messages_pb2.ResponseParameters(size=n) for n in RESPONSE_SIZES]
    )
    sizes = [len(r.payload.body) for r in stub.StreamingOutputCall(req, timeout=TIMEOUT)]
    check(sizes == RESPONSE_SIZES, f"response sizes {sizes}")


def ping_pong(stub, _channel):
    reqs = Requests()
    responses = stub.FullDuplexCall(iter(reqs), timeout=TIMEOUT)
    try:
        for req_size, resp_size in zip(REQUEST_SIZES, RESPONSE_SIZES):
            reqs.send(streaming_request(resp_size, req_size))
            got = len(next(responses).payload.body)
            check(got == resp_size, f"response of {got} bytes, want {resp_size}")
        reqs.close()
        check(next(responses, None) is None, "more responses than requests")
    finally:
        reqs.close()


def empty_stream(stub, _channel):
    responses = list(stub.FullDuplexCall(iter(()), timeout=TIMEOUT))
    check(responses == [], f"{len(responses)} responses")


def timeout_on_sleeping_server(stub, _channel):
    reqs = Requests()
    reqs.send(streaming_request(31415, 27182))
    try:
        responses = stub.FullDuplexCall(iter(reqs), timeout=0.001)
        expect_code(lambda: list(responses), grpc.StatusCode.DEADLINE_EXCEEDED, "FullDuplexCall")
    finally:
        reqs.close()


def cancel_after_begin(stub, _channel):
    reqs = Requests()
    future = stub.StreamingInputCall.future(iter(reqs), timeout=TIMEOUT)
    future.cancel()
    reqs.close()
    check(future.cancelled(), "call not cancelled")
    check(future.code() == grpc.StatusCode.CANCELLED, f"code {future.code()}")


def cancel_after_first_response(stub, _channel):
    reqs = Requests()
    responses = stub.FullDuplexCall(iter(reqs), timeout=TIMEOUT)
    try:
        reqs.send(streaming_request(31415, 27182))
        check(len(next(responses).payload.body) == 31415, "first response size")
        responses.cancel()
        expect_code(lambda: list(responses), grpc.StatusCode.CANCELLED, "after cancel")
    finally:
        reqs.close()


def custom_metadata(stub, _channel):
    initial = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
    trailing = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
    md = (initial, trailing)

    resp, call = stub.UnaryCall.with_call(
        messages_pb2.SimpleRequest(response_size=314159, payload=payload(271828)), metadata=md, timeout=TIMEOUT
    )
    check(len(resp.payload.body) == 314159, "unary payload size")
    check(initial in call.initial_metadata(), f"unary initial metadata {call.initial_metadata()}")
    check(trailing in call.trailing_metadata(), f"unary trailing metadata {call.trailing_metadata()}")

    reqs = Requests()
    reqs.send(streaming_request(314159, 271828))
    reqs.close()
    responses = stub.FullDuplexCall(iter(reqs), metadata=md, timeout=TIMEOUT)
    sizes = [len(r.payload.body) for r in responses]
    check(sizes == [314159], f"duplex sizes {sizes}")
    check(initial in responses.initial_metadata(), f"duplex initial metadata {responses.initial_metadata()}")
    check(trailing in responses.trailing_metadata(), f"duplex trailing metadata {responses.trailing_metadata()}")


def _status_case(stub, message):
    status = messages_pb2.EchoStatus(code=2, message=message)
    e = expect_code(
        lambda: stub.UnaryCall(messages_pb2.SimpleRequest(response_status=status), timeout=TIMEOUT),
        grpc.StatusCode.UNKNOWN,
        "UnaryCall",
    )
    check(e.details() == message, f"unary message {e.details()!r}")
    reqs = Requests()
    reqs.send(messages_pb2.StreamingOutputCallRequest(response_status=status))
    reqs.close()
    e = expect_code(
        lambda: list(stub.FullDuplexCall(iter(reqs), timeout=TIMEOUT)), grpc.StatusCode.UNKNOWN, "FullDuplexCall"
    )
    check(e.details() == message, f"duplex message {e.details()!r}")


def status_code_and_message(stub, _channel):
    _status_case(stub, "test status message")


def special_status_message(stub, _channel):
    e = expect_code(
        lambda: stub.UnaryCall(
            messages_pb2.SimpleRequest(response_status=messages_pb2.EchoStatus(code=2, message=SPECIAL_MESSAGE)),
            timeout=TIMEOUT,
        ),
        grpc.StatusCode.UNKNOWN,
        "UnaryCall",
    )
    check(e.details() == SPECIAL_MESSAGE, f"message {e.details()!r}")


def unimplemented_method(stub, _channel):
    expect_code(
        lambda: stub.UnimplementedCall(empty_pb2.Empty(), timeout=TIMEOUT),
        grpc.StatusCode.UNIMPLEMENTED,
        "TestService.UnimplementedCall",
    )


def unimplemented_service(_stub, channel):
    other = test_pb2_grpc.UnimplementedServiceStub(channel)
    expect_code(
        lambda: other.UnimplementedCall(empty_pb2.Empty(), timeout=TIMEOUT),
        grpc.StatusCode.UNIMPLEMENTED,
        "UnimplementedService.UnimplementedCall",
    )


def health(_stub, channel):
    h = health_pb2_grpc.HealthStub(channel)
    resp = h.Check(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT)
    check(resp.status == health_pb2.HealthCheckResponse.SERVING, f"status {resp.status}")
    expect_code(
        lambda: h.Check(health_pb2.HealthCheckRequest(service="no.such.service"), timeout=TIMEOUT),
        grpc.StatusCode.NOT_FOUND,
        "Check(no.such.service)",
    )
    watch = h.Watch(health_pb2.HealthCheckRequest(service=""), timeout=TIMEOUT)
    first = next(watch)
    watch.cancel()
    check(first.status == health_pb2.HealthCheckResponse.SERVING, f"watch status {first.status}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--test-case", default="all", help="all, or a comma-separated list")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--ca", default=os.path.join(_ROOT, ".peers", "tls", "ca.pem"))
    p.add_argument("--server-host-override", default="foo.test.google.fr")
    args = p.parse_args()

    target = f"{args.host}:{args.port}"
    if args.tls:
        with open(args.ca, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        options = [("grpc.ssl_target_name_override", args.server_host_override)]
        channel = grpc.secure_channel(target, creds, options=options)
    else:
        channel = grpc.insecure_channel(target)
    stub = test_pb2_grpc.TestServiceStub(channel)

    cases = []
    for name in args.test_case.split(","):
        cases += CASES if name == "all" else [name]
    failed = 0
    for name in cases:
        fn = globals().get(name)
        if name not in CASES + ["health"] or fn is None:
            print(f"FAIL {name}: unknown case")
            failed += 1
            continue
        try:
            fn(stub, channel)
            print(f"PASS {name}", flush=True)
        except (Failed, grpc.RpcError) as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
    channel.close()
    sys.exit(failed)


if __name__ == "__main__":
    main()
