#!/usr/bin/env python3
"""Every configuration key of the option table (host/conf.c opts[]) is
documented in README.md and in warmcgi.ini(5), and the man pages format
without warnings: a new key cannot land undocumented.
"""
import re
import subprocess

from warmtest import eq, main, ok, src


def table_keys():
    text = open(src("host/conf.c")).read()
    table = text[text.index("static const struct opt opts[]"):]
    table = table[:table.index("};")]
    keys = set()
    for m in re.finditer(r'\{\s*(NULL|"[a-z_]+")\s*,\s*(NULL|"[a-z_]+")',
                         table):
        keys.update(g.strip('"') for g in m.groups() if g != "NULL")
    return keys


def test_the_table_is_read():
    keys = table_keys()
    ok(len(keys) > 40, "found %d keys" % len(keys))
    for k in ("workers", "request_timeout", "url", "module", "timeout"):
        ok(k in keys, k)


def test_every_key_in_the_readme():
    readme = open(src("README.md")).read()
    missing = sorted(k for k in table_keys() if "`%s`" % k not in readme
                     and "`%s =" % k not in readme)
    eq(missing, [], "keys missing in README.md")


def test_every_key_in_warmcgi_ini_5():
    man = open(src("man/warmcgi.ini.5")).read()
    missing = sorted(k for k in table_keys()
                     if not re.search(r"\.It Cm %s\b|Cm %s No" % (k, k), man))
    eq(missing, [], "keys missing in man/warmcgi.ini.5")


def test_man_pages_format_cleanly():
    for page in ("warmcgi.8", "warmcgi.ini.5", "warmcgi.h.3"):
        p = subprocess.run(["groff", "-mdoc", "-ww", "-Tutf8",
                            src("man/" + page)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=60)
        eq(p.stderr.decode(), "", page)


main()
