"""A C-core gRPC server (Python grpcio) with the standard health service.

Usage: health_server.py PORT
Listens on 127.0.0.1:PORT only. The overall service "" and "tether.test"
are SERVING; "tether.down" is NOT_SERVING. Exits after 120 s at the latest,
so a test that forgets it cannot leave it running.
"""
import sys
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


def main() -> None:
    port = int(sys.argv[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("tether.test", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("tether.down", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"health_server listening on 127.0.0.1:{port}", flush=True)
    threading.Timer(120, lambda: server.stop(0)).start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
