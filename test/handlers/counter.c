/*
 * counter.c: a global that each worker keeps for itself, and a version
 * string so the tests can tell a replaced module from the old one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef COUNTER_VERSION
#define COUNTER_VERSION "1"
#endif

static unsigned long	 count;

int
main(void)
{
	count++;
	printf("Content-Type: text/plain\r\n\r\n");
	printf("count=%lu pid=%d version=%s instance=%s\n", count,
	    (int)getpid(), COUNTER_VERSION, getenv("INSTANCE_ID"));
	return 0;
}
