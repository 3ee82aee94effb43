#!/bin/sh
# test.sh: runs requests through the handler with `warmcgi --request`
# (the same pipeline as behind nginx, in one process, no socket) and
# checks the answers. make test runs it; WARMCGI names the host.
set -u
cd "$(dirname "$0")"
WARMCGI=${WARMCGI:-warmcgi}
failed=0

# expect NAME PATTERN REQUEST [ARGS...]: the response must match PATTERN
# (a grep -E expression, over the status line, the fields and the body).
expect() {
	name=$1 pattern=$2
	shift 2
	if out=$("$WARMCGI" -c warmcgi.ini --request "$@" 2>log.err) &&
	    printf '%s\n' "$out" | tr -d '\r' | grep -Eq "$pattern"; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		printf '%s\n' "$out" | sed 's/^/#   /'
		sed 's/^/#   log: /' log.err
		failed=1
	fi
}

expect "greets" '^Hello, Ada! \([0-9]+ ms left' 'GET /hello?name=Ada'
expect "default name" '^Hello, world!' /hello
expect "rejects bad names" '^HTTP/1.1 400 ' '/hello?name=%3Cb%3E'
expect "counts a posted body" '^11 bytes$' 'POST /hello' \
    -H 'Content-Type: text/plain' --data 'hello there'
expect "unknown paths are 404" '^HTTP/1.1 404 ' /nothing
expect "HEAD has the fields" '^Content-Type: text/plain' 'HEAD /hello'
rm -f log.err
exit $failed
