"""fcgi: a small FastCGI client for tests that talk to warmcgi's socket
directly (no nginx), including on purpose malformed or stalled ones.
FastCGI 1.0: an 8-byte header (version, type, request id, content
length, padding length), then content and padding.
"""
import socket
import struct

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST = 1, 2, 3
PARAMS, STDIN, STDOUT, STDERR = 4, 5, 6, 7
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
RESPONDER, KEEP_CONN = 1, 1


def record(rtype, rid, content=b"", padding=0):
    return struct.pack(">BBHHBx", 1, rtype, rid, len(content), padding) + \
        content + b"\0" * padding


def length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def pairs(items):
    out = b""
    for k, v in items:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += length(len(k)) + length(len(v)) + k + v
    return out


def begin(rid=1, flags=0):
    return record(BEGIN_REQUEST, rid, struct.pack(">HB5x", RESPONDER, flags))


def params(rid, items):
    body = pairs(items)
    out = b""
    for i in range(0, len(body), 65535):
        out += record(PARAMS, rid, body[i:i + 65535])
    return out + record(PARAMS, rid)


def stdin(rid, data):
    out = b""
    for i in range(0, len(data), 65535):
        out += record(STDIN, rid, data[i:i + 65535])
    return out + record(STDIN, rid)


def request_bytes(path, method="GET", body=b"", rid=1, flags=0, extra=()):
    path, _, query = path.partition("?")
    env = [("REQUEST_METHOD", method), ("SCRIPT_NAME", path),
           ("QUERY_STRING", query), ("SERVER_PROTOCOL", "HTTP/1.1"),
           ("REMOTE_ADDR", "127.0.0.1")]
    if body:
        env.append(("CONTENT_LENGTH", str(len(body))))
    env.extend(extra)
    return begin(rid, flags) + params(rid, env) + stdin(rid, body)


def connect(path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def read_records(s, reset_ok=False):
    """Reads records until END_REQUEST or EOF; returns (stdout, stderr,
    records) where records lists (type, request id, content). A reset
    raises, or with reset_ok ends the records like EOF."""
    buf, out, err, recs = b"", b"", b"", []
    while True:
        while len(buf) >= 8:
            _, rtype, rid, clen, plen = struct.unpack(">BBHHBx", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            content = buf[8:8 + clen]
            buf = buf[8 + clen + plen:]
            recs.append((rtype, rid, content))
            if rtype == STDOUT:
                out += content
            elif rtype == STDERR:
                err += content
            elif rtype == END_REQUEST:
                return out, err, recs
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return out, err, recs
        except ConnectionResetError:
            # Closed by the host with bytes of ours unread.
            if not reset_ok:
                raise
            return out, err, recs
        if not chunk:
            return out, err, recs
        buf += chunk


def call(sock_path, path, **kw):
    """One request on its own connection; returns the CGI stdout bytes."""
    s = connect(sock_path)
    try:
        s.sendall(request_bytes(path, **kw))
        return read_records(s)[0]
    finally:
        s.close()
