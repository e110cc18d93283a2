
/*
 * t/unit: what every test program shares (a check that counts, and the
 * summary main() returns).  The pure units are linked alone: no nginx
 * runtime, ngx_core.h from the unconfigured sources (see Makefile).
 */


#ifndef _UNIT_H_INCLUDED_
#define _UNIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include <stdio.h>
#include <string.h>


static ngx_uint_t  unit_passed, unit_failed;


#define check(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            unit_passed++;                                                   \
        } else {                                                             \
            unit_failed++;                                                   \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                      \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        }                                                                    \
    } while (0)


static int
unit_done(const char *name)
{
    printf("%s: %lu passed, %lu failed\n", name, (unsigned long) unit_passed,
           (unsigned long) unit_failed);

    return unit_failed || unit_passed == 0;
}


#endif /* _UNIT_H_INCLUDED_ */
