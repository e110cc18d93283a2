/*
 * Preloaded by t/asan/nginx after the ASan runtime: dlclose() does
 * nothing.  nginx dlclose()s the dynamic modules when it destroys the
 * cycle pool, at exit, just before LeakSanitizer runs; with the module and
 * its libraries (jansson, libcurl) unmapped, every frame of theirs in a
 * leak report is "<unknown module>", and t/asan/report.pl could not tell
 * our leaks from nginx's.  The ASan runtime's own dlclose() interceptor
 * comes first and calls this one as the "real" dlclose().
 */

int
dlclose(void *handle)
{
    (void) handle;

    return 0;
}
