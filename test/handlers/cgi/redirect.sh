#!/bin/sh
# A local redirect (RFC 3875 6.2.2): the host serves the target itself.
printf 'Location: /cgi-bin/env.sh/redirected?from=redirect\r\n\r\n'
