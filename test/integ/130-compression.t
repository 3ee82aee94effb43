#!/usr/bin/env python3
"""Compression of dynamic responses through nginx: text and JSON are
gzipped for clients that admit it, binary, already encoded and small
bodies are not; Vary merges with the handler's; a strong ETag turns weak;
the bytes decompress to exactly the identity response; HEAD has the
length and no body; `compress = off` and `compress_min_size` per handler;
the forced rule (Accept-Encoding and User-Agent both "gzip"); HSTS.
"""
import gzip

from warmtest import Cluster, eq, main, ok

INI = """
[app]
workers = 2
hsts = max-age=31536000; includeSubDomains

[handler r]
url = /r/
module = {build}/test/handlers/respmod.so

[handler off]
url = /off/
module = {build}/test/handlers/respmod.so
compress = off

[handler min]
url = /min/
module = {build}/test/handlers/respmod.so
compress_min_size = 10K

[handler framed]
url = /framed/
module = {build}/test/handlers/respmod.so
http_header = X-Frame-Options: DENY
http_header = Cache-Control: no-store
"""

GZ = {"Accept-Encoding": "gzip"}


def setup():
    return Cluster(INI, "gzip").start()


def teardown(c):
    c.stop()


def gzipped(r):
    return r.header("Content-Encoding") == "gzip"


def test_text_is_gzipped_byte_exact(c):
    plain = c.get("/r/text?n=50000")
    eq(plain.status, 200)
    ok(not gzipped(plain), "identity without Accept-Encoding")
    eq(plain.header("Vary"), "Accept-Encoding")
    eq(len(plain.body), 50000)
    r = c.get("/r/text?n=50000", headers=GZ)
    ok(gzipped(r), "gzip for a client that admits it")
    eq(r.header("Vary"), "Accept-Encoding")
    eq(int(r.header("Content-Length")), len(r.body))
    ok(len(r.body) < len(plain.body) / 3, "it shrinks")
    eq(gzip.decompress(r.body), plain.body)


def test_one_mib_round_trip(c):
    plain = c.get("/r/json?n=%d" % (1 << 20)).body
    r = c.get("/r/json?n=%d" % (1 << 20), headers=GZ)
    ok(gzipped(r))
    eq(gzip.decompress(r.body), plain)
    eq(r.header("Content-Type"), "application/json")


def test_accept_encoding_forms(c):
    cases = {
        "GZIP": True,
        "deflate , gzip;q=0.5": True,
        " br;q=1,  Gzip ; Q=0.001": True,
        "*": True,
        "x-gzip": True,
        "gzip;q=0": False,
        "gzip; q=0.000, deflate": False,
        "*;q=0": False,
        "*, gzip;q=0": False,
        "identity;q=0": False,
        "deflate, br": False,
        "": False,
    }
    for ae, want in cases.items():
        r = c.get("/r/text?n=2000", headers={"Accept-Encoding": ae})
        eq(gzipped(r), want, ae)
        eq(r.header("Vary"), "Accept-Encoding", ae)


def test_binary_is_not_compressed(c):
    r = c.get("/r/binary?n=5000", headers=GZ)
    ok(not gzipped(r))
    ok(r.header("Vary") is None, "a binary type does not vary")
    eq(len(r.body), 5000)


def test_already_encoded_passes_untouched(c):
    payload = gzip.compress(b"hello, already compressed\n" * 100)
    r = c.post("/r/encoded", payload, headers=GZ)
    eq(r.headers_named("Content-Encoding"), ["gzip"])
    eq(r.body, payload)
    ok(r.header("Vary") is None)


def test_small_bodies_stay_identity(c):
    r = c.get("/r/text?n=255", headers=GZ)
    ok(not gzipped(r))
    ok(r.header("Vary") is None, "too small to ever be compressed")
    eq(len(r.body), 255)
    ok(gzipped(c.get("/r/text?n=256", headers=GZ)), "256 is enough")
    r = c.get("/min/text?n=5000", headers=GZ)
    ok(not gzipped(r), "compress_min_size = 10K")
    ok(gzipped(c.get("/min/text?n=20000", headers=GZ)))


def test_compress_off(c):
    r = c.get("/off/text?n=50000", headers=GZ)
    ok(not gzipped(r))
    ok(r.header("Vary") is None)
    eq(len(r.body), 50000)


def test_statuses_without_body(c):
    for code in (204, 304):
        r = c.get("/r/status?code=%d&n=2000" % code, headers=GZ)
        eq(r.status, code)
        ok(not gzipped(r))
        eq(r.body, b"")
    r = c.get("/r/status?code=404&n=2000", headers=GZ)
    eq(r.status, 404)
    ok(gzipped(r), "a 404 with a text body is compressed too")


def test_vary_merges_with_the_handlers(c):
    r = c.get("/r/vary?v=1&n=2000", headers=GZ)
    eq(r.headers_named("Vary"), ["Cookie, Accept-Encoding"])
    ok(gzipped(r))
    r = c.get("/r/vary?v=2&n=2000", headers=GZ)
    eq(r.headers_named("Vary"), ["accept-encoding"])
    r = c.get("/r/vary?v=3&n=2000")
    eq(r.headers_named("Vary"), ["*"])
    # Small: compression does not apply, the handler's Vary stays alone.
    r = c.get("/r/vary?v=1&n=10", headers=GZ)
    eq(r.headers_named("Vary"), ["Cookie"])


def test_strong_etag_becomes_weak_when_gzipped(c):
    eq(c.get("/r/etag?n=2000").header("ETag"), '"v1"')
    eq(c.get("/r/etag?n=2000", headers=GZ).header("ETag"), 'W/"v1"')


def test_head_has_the_length_and_no_body(c):
    get = c.get("/r/text?n=9000", headers=GZ)
    r = c.request("HEAD", "/r/text?n=9000", headers=GZ)
    eq(r.status, 200)
    eq(r.body, b"")
    ok(gzipped(r))
    eq(r.header("Content-Length"), get.header("Content-Length"))
    r = c.request("HEAD", "/r/text?n=9000")
    eq(r.header("Content-Length"), "9000")
    eq(r.body, b"")


def test_forced_by_user_agent(c):
    both = {"Accept-Encoding": "gzip", "User-Agent": "gzip"}
    r = c.get("/r/binary?n=3000", headers=both)
    ok(gzipped(r), "any type when forced")
    eq(r.header("Vary"), "Accept-Encoding, User-Agent")
    eq(len(gzip.decompress(r.body)), 3000)
    r = c.get("/r/text?n=100", headers=both)
    ok(gzipped(r), "any size when forced")
    eq(gzip.decompress(r.body), c.get("/r/text?n=100").body)
    r = c.get("/r/binary?n=3000", headers={"User-Agent": "gzip"})
    ok(not gzipped(r), "not without Accept-Encoding")
    r = c.get("/off/text?n=3000", headers=both)
    ok(not gzipped(r), "compress = off wins")


def test_cache_fields_pass_through(c):
    r = c.get("/r/cache?n=3000", headers=GZ)
    ok(gzipped(r))
    eq(r.headers_named("Cache-Control"), ["public, max-age=60"])
    ok(r.header("Expires") is None, "none added to a dynamic answer")
    eq(r.header("Vary"), "Accept-Encoding")


def test_hsts_on_dynamic_responses(c):
    want = "max-age=31536000; includeSubDomains"
    for path in ("/r/text?n=10", "/r/status?code=500", "/nothing/here"):
        r = c.get(path)
        eq(r.headers_named("Strict-Transport-Security"), [want], path)
    # A handler's own value is kept, and sent once.
    r = c.get("/r/own")
    eq(r.headers_named("Strict-Transport-Security"), ["max-age=5"])


def test_http_header_lines(c):
    r = c.get("/framed/text?n=10")
    eq(r.header("X-Frame-Options"), "DENY")
    eq(r.header("Cache-Control"), "no-store")
    # The handler's own field wins over the config's.
    r = c.get("/framed/own")
    eq(r.headers_named("X-Frame-Options"), ["SAMEORIGIN"])
    eq(r.header("Cache-Control"), "no-store")
    # Also on the host's own answers for the handler.
    eq(c.get("/framed/nosuch").header("X-Frame-Options"), "DENY")
    ok(c.get("/r/own").header("Cache-Control") is None)


main(setup=setup, teardown=teardown)
