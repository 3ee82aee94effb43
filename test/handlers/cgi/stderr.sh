#!/bin/sh
# Writes log lines on stderr, one with a level prefix, one without.
echo "ERROR: cgi stderr error $REQUEST_LOG_ID" >&2
echo "cgi stderr plain line" >&2
printf 'no newline at the end' >&2
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$REQUEST_LOG_ID"
