/*
 * hello.c: the smallest warmcgi handler. It is a plain CGI program: the
 * same source built as an executable runs under any CGI server.
 *
 *	cc -shared -fPIC hello.c -o hello.so
 */
#include <stdio.h>

int
main(void)
{
	printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
	printf("Hello, World!\n");
	return 0;
}
