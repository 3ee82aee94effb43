#!/bin/sh
# Writes QUERY_STRING mebibytes of zeros.
printf 'Content-Type: application/octet-stream\r\n\r\n'
exec head -c "${QUERY_STRING}M" /dev/zero
