#!/usr/bin/env python3
"""Writes the committed seed corpus under fuzz/corpus/<target>/seed-*.

Frames are built by hand from RFC 9113 §4.1 and RFC 7541 so the seeds do not
depend on the code under test. Run from anywhere: python3 fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(kind, flags, stream, payload=b""):
    n = len(payload)
    return bytes([n >> 16, (n >> 8) & 0xFF, n & 0xFF, kind, flags]) + struct.pack(">I", stream) + payload


def settings(*pairs, ack=False):
    return frame(4, 1 if ack else 0, 0, b"".join(struct.pack(">HI", i, v) for i, v in pairs))


def lit(name, value):
    """Literal without indexing, new name (RFC 7541 §6.2.2), raw strings."""
    return bytes([0x00, len(name)]) + name + bytes([len(value)]) + value


STATUS_200 = b"\x88"
CT_GRPC = bytes([0x5F, 16]) + b"application/grpc"  # incremental indexing, static name 31


def headers(stream, block, end_stream=False):
    return frame(1, 0x4 | (1 if end_stream else 0), stream, block)


def data(stream, payload, end_stream=False):
    return frame(0, 1 if end_stream else 0, stream, payload)


def unary(stream):
    return (headers(stream, STATUS_200 + CT_GRPC) + data(stream, b"\x00\x00\x00\x00\x02\x08\x01")
            + headers(stream, lit(b"grpc-status", b"0"), end_stream=True))


SERVER_START = settings((3, 100), (4, 65535), (5, 16384)) + settings(ack=True)
PING = frame(6, 0, 0, b"12345678")
STREAMS = {
    "unary": SERVER_START + unary(1),
    "three_unary": SERVER_START + unary(1) + unary(3) + unary(5) + PING,
    "trailers_only": SERVER_START + headers(1, STATUS_200 + CT_GRPC + lit(b"grpc-status", b"12"), True),
    "continuation": SERVER_START + frame(1, 0, 1, STATUS_200) + frame(9, 0, 1, CT_GRPC)
    + frame(9, 4, 1, lit(b"x-a", b"b")) + data(1, b"", True),
    "padded_data": SERVER_START + headers(1, STATUS_200) + frame(0, 0x9, 1, b"\x03abc\x00\x00\x00"),
    "window_updates": SERVER_START + frame(8, 0, 0, struct.pack(">I", 1000)) + frame(8, 0, 1, struct.pack(">I", 5))
    + unary(1),
    "goaway": SERVER_START + unary(1) + frame(7, 0, 0, struct.pack(">II", 1, 0) + b"bye"),
    "goaway_pings": SERVER_START + frame(7, 0, 0, struct.pack(">II", 2**31 - 1, 11) + b"too_many_pings"),
    "rst_stream": SERVER_START + headers(3, STATUS_200) + frame(3, 0, 3, struct.pack(">I", 7)) + unary(1),
    "settings_change": SERVER_START + settings((4, 10), (1, 0), (3, 1)) + unary(1),
    "ping_ack": SERVER_START + frame(6, 1, 0, b"\x00" * 8) + PING + unary(1),
    "unknown_and_priority": SERVER_START + frame(0x42, 0xFF, 1, b"xyz") + frame(2, 0, 1, b"\x00\x00\x00\x03\x10")
    + unary(1),
}

# RFC 7541 Appendix C.3 (requests without Huffman) and C.4 (with Huffman).
C3 = [
    "828684410f7777772e6578616d706c652e636f6d",
    "828684be58086e6f2d6361636865",
    "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
]
C4 = [
    "828684418cf1e3c2e5f23a6ba0ab90f4ff",
    "828684be5886a8eb10649cbf",
    "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
]
C6 = [
    "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
    "4883640effc1c0bf",
    "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
]


def write(target, name, payload):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(payload)


def main():
    for name, stream in STREAMS.items():
        write("connection", name, bytes([7, 3]) + stream)
        write("connection", name + "_bytewise", bytes([0, 1]) + stream)
        write("frame_decoder", name, bytes([255]) + stream)
        write("frame_decoder", name + "_bytewise", bytes([0]) + stream)
    sep = b"\xff\x00\xff"
    for name, blocks, ctl in (("c3", C3, 0b1011), ("c4", C4, 0b1011), ("c6", C6, 0b1010)):
        write("hpack_decoder", name, bytes([ctl]) + sep.join(bytes.fromhex(b) for b in blocks))
    write("hpack_roundtrip", "grpc_request",
          b":method\xfcPOST\xfd:path\xfc/a.B/C\xfdcontent-type\xfcapplication/grpc\xfdte\xfctrailers"
          b"\xfe\xfb\x00:method\xfcPOST\xfdgrpc-timeout\xfc1S\xfe:path\xfc/x\xfdauthorization\xfcsecret")
    write("hpack_roundtrip", "empty_and_big", b"\xfd\xfc\xfe" + b"x" * 300 + b"\xfc" + b"y" * 5000)
    # grpc_call: byte 0 setup (even: unary; limit 16 << (b >> 1)), then
    # operations: 0 headers (status byte, field count, name/value picks),
    # 3 one framed message (length, body; 0x40 gzip), 4 trailers.
    # Name picks: 0 content-type, 1 grpc-status, 2 grpc-message, 3 grpc-encoding;
    # value picks: 0 application/grpc, 3 "0", 4 "13", 5 gzip.
    ok_head = bytes([0, 0, 1, 0, 0])
    write("grpc_call", "unary_ok", bytes([20]) + ok_head + bytes([3, 5]) + b"hello" + bytes([4, 1, 1, 3]))
    write("grpc_call", "streaming_gzip", bytes([21, 0, 0, 2, 0, 0, 3, 5]) + bytes([0x43, 4]) + b"abcd"
          + bytes([3, 2]) + b"hi" + bytes([4, 2, 1, 4, 2, 8]))
    write("grpc_call", "trailers_only", bytes([20, 0x80, 0, 2, 1, 4, 2, 8]))


if __name__ == "__main__":
    main()
