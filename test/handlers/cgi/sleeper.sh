#!/bin/sh
# Starts a child and waits for it; QUERY_STRING picks how it meets the
# deadline: "ignore" ignores SIGTERM (so does the child), "answer" traps it
# and answers itself, anything else dies of it. Pids go to pids/.
case "$QUERY_STRING" in
ignore)	trap '' TERM ;;
answer)	trap 'printf "Status: 503 Service Unavailable\r\n"
	printf "Content-Type: text/plain\r\n\r\nstopped cleanly\n"; exit 0' TERM
	;;
esac
sleep 300 &
child=$!
mkdir -p pids
echo "$$ $child" > "pids/$REQUEST_LOG_ID.tmp"
mv "pids/$REQUEST_LOG_ID.tmp" "pids/$REQUEST_LOG_ID"
while :; do
	wait "$child" && break
	kill -0 "$child" 2>/dev/null || break
done
printf 'Content-Type: text/plain\r\n\r\nchild ended\n'
