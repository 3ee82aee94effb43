# scripts/deps.sh: sourced by ./demo, ./check and bench/run. Installs the
# Debian packages warmcgi needs, only those missing (apt-get update only
# when something is missing). Uses sudo when not root.

WARMCGI_BUILD_DEPS="gcc make autoconf automake libtool pkg-config
libinih-dev zlib1g-dev libpcre2-dev"
WARMCGI_RUN_DEPS="nginx"
WARMCGI_TEST_DEPS="python3 libfcgi-bin curl libcurl4-openssl-dev
lighttpd apache2-bin busybox git cgit groff-base man-db iproute2
apache2-utils jq clang libclang-rt-14-dev valgrind strace libfcgi-dev"
WARMCGI_BENCH_DEPS="python3 libfcgi-dev wrk php-fpm fcgiwrap strace valgrind"

warmcgi_install() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing" >&2
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null
	# Do not let the packages start system services (nginx, lighttpd on
	# port 80). apache2-bin has the server and its modules but no service.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' |
		    $sudo tee /usr/sbin/policy-rc.d >/dev/null
		$sudo chmod +x /usr/sbin/policy-rc.d
		trap "$sudo rm -f /usr/sbin/policy-rc.d" EXIT
	fi
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Configures (if needed) and builds warmcgi out of tree in $1 (default
# build/), passing the remaining arguments to configure.
warmcgi_build() {
	dir=${1:-build}
	shift || true
	[ -x configure ] || autoreconf -fi >/dev/null 2>&1
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ]; then
		(cd "$dir" && ../configure -q "$@") || return 1
	fi
	make -C "$dir" -s -j"$(nproc)" check-build
}
