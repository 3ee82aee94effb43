#!/bin/sh
# A non-parsed-header script: it writes the HTTP status line itself.
printf 'HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n'
printf 'X-Nph: yes\r\n\r\nmade by nph\n'
