/*
 * nosymbol.c: a test-only shared object that is not a plugin (it exports no
 * descriptor); the loader must refuse it with a clear message.
 */
int nosymbol_placeholder(void);
int nosymbol_placeholder(void)
{
    return 42;
}
