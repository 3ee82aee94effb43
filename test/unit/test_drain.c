/* test_drain.c: reading /proc/net/tcp and tcp6 for a listening socket. */
#include <string.h>

#include "drain.h"
#include "unit.h"

static const char tcp[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n"
    "   0: 00000000:2328 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 1234 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0B00007F:2329 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 1235 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0100007F:232A 0100007F:D2F0 01 00000000:00000000 00:00000000 "
    "00000000     0        0 1236 1 0000000000000000 100 0 0 10 0\n";

static const char tcp6[] =
    "  sl  local_address                         remote_address        "
    "                st tx_queue rx_queue\n"
    "   0: 00000000000000000000000000000000:2328 "
    "00000000000000000000000000000000:0000 0A 00000000:00000000\n"
    "   1: 000077FD000000000000000002000000:2329 "
    "00000000000000000000000000000000:0000 0A 00000000:00000000\n";

static void
listening(void)
{
	/* 0.0.0.0:9000 and 127.0.0.11:9001 listen; 9002 is a connection. */
	ASSERT_EQ(drain_proc_listening(tcp, "00000000", 9000), 1);
	ASSERT_EQ(drain_proc_listening(tcp, "0b00007f", 9001), 1);
	ASSERT_EQ(drain_proc_listening(tcp, "0C00007F", 9001), 0);
	ASSERT_EQ(drain_proc_listening(tcp, "00000000", 9001), 0);
	ASSERT_EQ(drain_proc_listening(tcp, "0100007F", 9002), 0);
	ASSERT_EQ(drain_proc_listening(tcp, "00000000", 9003), 0);
	ASSERT_EQ(drain_proc_listening(tcp6,
	    "00000000000000000000000000000000", 9000), 1);
	ASSERT_EQ(drain_proc_listening(tcp6,
	    "000077FD000000000000000002000000", 9001), 1);
	ASSERT_EQ(drain_proc_listening("", "00000000", 9000), 0);
	ASSERT_EQ(drain_proc_listening("garbage\n\n", "00000000", 9000), 0);
}

static void
hidden_names(void)
{
	char	 out[32];

	ASSERT_EQ(drain_hidden_path("/run/a.sock", out, sizeof(out)), 0);
	ASSERT_STR(out, "/run/a.sock.drained");
	ASSERT_EQ(drain_hidden_path("/run/a.sock", out, 19), -1);
}

int
main(void)
{
	RUN(listening);
	RUN(hidden_names);
	return unit_done();
}
