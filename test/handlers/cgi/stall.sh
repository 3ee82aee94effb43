#!/bin/sh
# Sends a header and some body, then hangs past its deadline, deaf to
# SIGTERM.
trap '' TERM
printf 'Content-Type: text/plain\r\n\r\npartial\n'
sleep 300
