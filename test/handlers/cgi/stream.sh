#!/bin/sh
# Streams: a first line, then, once the file named by QUERY_STRING exists
# (the test creates it after reading that line), a second one. A host that
# buffered the output would never show the first line in time.
printf 'Content-Type: text/plain\r\n\r\nfirst\n'
i=0
while [ ! -e "$QUERY_STRING" ] && [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
printf 'second\n'
