#!/bin/sh
# bench/cgi-mode.sh: what a module request costs when warmcgi runs as a
# CGI program (one process start, one config parse, one dlopen), beside a
# plain CGI executable and fcgiwrap, and beside warmcgi behind FastCGI.
# The handler is examples/hello/hello.c everywhere: built as an executable
# for plain CGI and fcgiwrap, as a module for warmcgi.
#
#   bench/cgi-mode.sh [BUILDDIR]      (default build/; needs a built tree)
#
# Part 1 runs each CGI program directly with a CGI environment (perf stat,
# no web server). Part 2 drives each setup with wrk (1 thread, 4
# connections, 5 s, median of 3 runs) on 127.0.0.1:
#   lighttpd mod_cgi -> hello (plain CGI)
#   lighttpd mod_cgi -> app.ini (#!warmcgi -c, CGI mode) -> hello.so
#   nginx -> fcgiwrap (2 children) -> hello (plain CGI)
#   nginx -> warmcgi (2 workers, FastCGI) -> hello.so
# Everything runs in a temp dir and is stopped by PID at the end.
set -eu
cd "$(dirname "$0")/.."
build=$(cd "${1:-build}" && pwd)
src=$(pwd)
warmcgi=$build/host/warmcgi
for t in wrk lighttpd nginx fcgiwrap cc python3; do
	command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 1; }
done
[ -x "$warmcgi" ] || { echo "build warmcgi first ($warmcgi)" >&2; exit 1; }

dir=$(mktemp -d /tmp/cgimode-bench-XXXXXX)
chmod 755 "$dir"
pids=
groups=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for g in $groups; do kill -- "-$g" 2>/dev/null || true; done
	sleep 0.5
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port() {
	python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_port() {
	i=0
	until python3 -c "import socket; socket.create_connection(\
('127.0.0.1', $1), 1)" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "nothing on port $1" >&2; exit 1; }
		sleep 0.1
	done
}

mkdir -p "$dir/cgi-bin" "$dir/www" "$dir/nginx"
cc -O2 "$src/examples/hello/hello.c" -o "$dir/cgi-bin/hello"
cc -O2 -shared -fPIC "$src/examples/hello/hello.c" -o "$dir/hello.so"
cat > "$dir/cgi-bin/app.ini" <<EOF
#!$warmcgi -c
[app]
log = /dev/null
access_log = /dev/null
[handler hello]
url = /hello
module = $dir/hello.so
EOF
chmod 755 "$dir/cgi-bin/app.ini"

echo "## Process cost, no web server (perf stat -r 500)"
echo
echo "| program | wall ms | CPU ms |"
echo "|---|---|---|"
if command -v perf >/dev/null; then
	for prog in hello app.ini; do
		out=$(cd "$dir/cgi-bin" && env -i GATEWAY_INTERFACE=CGI/1.1 \
		    REQUEST_METHOD=GET SCRIPT_NAME=/cgi-bin/$prog \
		    SCRIPT_FILENAME="$dir/cgi-bin/$prog" PATH_INFO=/hello \
		    QUERY_STRING= SERVER_PROTOCOL=HTTP/1.1 \
		    perf stat -x, -r 500 -e task-clock "./$prog" 2>&1 \
		    >/dev/null </dev/null)
		cpu=$(echo "$out" | awk -F, '/task-clock/ { printf "%.3f", $1 }')
		wall=$(cd "$dir/cgi-bin" && env -i GATEWAY_INTERFACE=CGI/1.1 \
		    REQUEST_METHOD=GET SCRIPT_NAME=/cgi-bin/$prog \
		    SCRIPT_FILENAME="$dir/cgi-bin/$prog" PATH_INFO=/hello \
		    QUERY_STRING= SERVER_PROTOCOL=HTTP/1.1 \
		    perf stat -r 500 "./$prog" 2>&1 >/dev/null </dev/null |
		    awk '/seconds time elapsed/ { printf "%.3f", $1 * 1000 }')
		case $prog in
		hello) name="plain CGI executable" ;;
		*) name="warmcgi CGI mode + hello.so" ;;
		esac
		echo "| $name | $wall | $cpu |"
	done
else
	echo "| (perf not installed) | | |"
fi
echo

lport=$(port)
nport=$(port)
chown -R www-data: "$dir/cgi-bin" 2>/dev/null || true
cat > "$dir/lighttpd.conf" <<EOF
server.document-root = "$dir/www"
server.bind = "127.0.0.1"
server.port = $lport
server.pid-file = "$dir/lighttpd.pid"
server.username = "www-data"
server.groupname = "www-data"
server.modules = ("mod_alias", "mod_cgi")
alias.url = ("/cgi-bin/" => "$dir/cgi-bin/")
\$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = ("" => "") }
EOF
lighttpd -D -f "$dir/lighttpd.conf" 2>"$dir/lighttpd.err" &
pids="$pids $!"

# Its own process group: the children it forks go with it.
setsid fcgiwrap -c 2 -s "unix:$dir/fcgiwrap.sock" &
groups="$!"
cat > "$dir/warmcgi.ini" <<EOF
[app]
listen = $dir/warmcgi.sock
workers = 2
log = /dev/null
access_log = /dev/null
[handler hello]
url = /hello
module = $dir/hello.so
EOF
"$warmcgi" -c "$dir/warmcgi.ini" &
pids="$pids $!"
cat > "$dir/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
user root;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    fastcgi_temp_path $dir/nginx/fastcgi;
    server {
        listen 127.0.0.1:$nport;
        location /fcgiwrap/hello {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $dir/cgi-bin/hello;
            fastcgi_pass unix:$dir/fcgiwrap.sock;
        }
        location /hello {
            include /etc/nginx/fastcgi_params;
            fastcgi_param REQUEST_START \$msec;
            fastcgi_param HTTP_PROXY "";
            fastcgi_pass unix:$dir/warmcgi.sock;
        }
    }
}
EOF
i=0
until [ -S "$dir/fcgiwrap.sock" ] && [ -S "$dir/warmcgi.sock" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "backends did not start" >&2; exit 1; }
	sleep 0.1
done
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
pids="$pids $!"
wait_port "$lport"
wait_port "$nport"

# Prints "req/s p50_ms" of the median run (by req/s) of three; a run
# with non-2xx answers or socket errors stops the benchmark.
measure() {
	runs=$(for rep in 1 2 3; do
		wrk -t1 -c4 -d5s --latency "$1" 2>/dev/null | awk '
		    /Non-2xx|Socket errors/ { bad = 1 }
		    /Requests\/sec/ { rps = $2 }
		    /^ +50%/ { v = $2; u = v; sub(/[a-z]+$/, "", v);
		        if (u ~ /us$/) v /= 1000; else if (u !~ /ms$/) v *= 1000;
		        p50 = v }
		    END { if (bad) print "BAD"; else printf "%.0f %.2f\n", rps, p50 }'
	done)
	case $runs in
	*BAD*) echo "$1: errors under load" >&2; exit 1 ;;
	esac
	echo "$runs" | sort -n | sed -n 2p
}

echo "## Through a web server (wrk -t1 -c4 -d5s, median of 3)"
echo
echo "| setup | req/s | p50 ms |"
echo "|---|---|---|"
for row in \
    "lighttpd mod_cgi, plain CGI|http://127.0.0.1:$lport/cgi-bin/hello" \
    "lighttpd mod_cgi, warmcgi CGI mode + module|http://127.0.0.1:$lport/cgi-bin/app.ini/hello" \
    "nginx + fcgiwrap, plain CGI|http://127.0.0.1:$nport/fcgiwrap/hello" \
    "nginx + warmcgi FastCGI, module|http://127.0.0.1:$nport/hello"; do
	name=${row%%|*}
	url=${row#*|}
	curl -fsS "$url" | grep -q "Hello, World" ||
	    { echo "$url does not answer" >&2; exit 1; }
	r=$(measure "$url")
	set -- $r
	echo "| $name | $1 | $2 |"
done
echo
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs)"
