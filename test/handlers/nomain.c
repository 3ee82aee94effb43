/* nomain.c: a shared object without main(), which -t must refuse. */
int	not_main(void);

int
not_main(void)
{
	return 0;
}
