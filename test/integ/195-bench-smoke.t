#!/usr/bin/env python3
"""The benchmark harness works (bench/bench.py --smoke): every backend of
bench/run starts behind one nginx and answers what its row expects (same
bytes for the hello rows, gzip, a 1 MiB echo, the slow/fast mix), wrk's
summary and strace's counts are read, and the table is printed. Only
that it runs: timings never decide anything here.
"""
import os
import shutil
import subprocess
import sys

from warmtest import BUILD, SRC, Skip, eq, main, ok


def test_bench_smoke():
    missing = [t for t in ("wrk", "fcgiwrap", "strace")
               if shutil.which(t) is None and
               not os.path.exists("/usr/sbin/" + t)]
    if not any(os.path.exists(os.path.join(d, f))
               for d in ("/usr/sbin", "/usr/local/sbin")
               if os.path.isdir(d) for f in os.listdir(d)
               if f.startswith("php-fpm")):
        missing.append("php-fpm")
    if missing:
        raise Skip("bench/run installs them: " + " ".join(missing))
    p = subprocess.run([sys.executable, os.path.join(SRC, "bench",
                                                      "bench.py"),
                        "--builddir", BUILD, "--smoke"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300)
    out = p.stdout.decode(errors="replace")
    eq(p.returncode, 0, out)
    ok("every row answered as expected" in out, out)
    for row in ("a", "b", "a-keep"):
        ok("\n| %s | " % row in out, "row %s in %s" % (row, out))
    ok("system calls per request, row a," in out, out)
    ok("| read | " in out and "| total | " in out, out)


main()
