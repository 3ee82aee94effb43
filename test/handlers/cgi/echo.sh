#!/bin/sh
# Echoes the request body. cat reads and writes at the same time, so a host
# that wrote the whole body before reading the output would deadlock.
printf 'Content-Type: application/octet-stream\r\n\r\n'
exec cat
