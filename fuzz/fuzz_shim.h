
/*
 * ngx_metrics_module fuzzing: what the fuzz targets link instead of the
 * nginx runtime (`make` builds the module only, and nginx-dev ships no
 * core sources).  See fuzz_shim.c.
 */


#ifndef _FUZZ_SHIM_H_INCLUDED_
#define _FUZZ_SHIM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_parser.h"
#include "ngx_k8s_metrics_quantity.h"
#include "ngx_k8s_metrics_selector.h"
#include "ngx_k8s_metrics_emit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/*
 * Every pool allocation is its own malloc() block, exactly the size asked
 * for, so that AddressSanitizer sees a one-byte overrun of any of them; all
 * are freed by fuzz_pool_reset(), at the end of each input.
 */
extern ngx_pool_t  *fuzz_pool;

void fuzz_pool_reset(void);

/* the allocation with this index (from 0 after a reset) fails; -1: none */
void fuzz_pool_fail_at(long n);

/* allocations made since the last reset */
long fuzz_pool_allocs(void);

/* whether the injected failure happened since the last reset */
int fuzz_pool_failed(void);


/* an invariant broke: print it (and the input, hex-dumped) and abort() */
#define fuzz_assert(cond, ...)                                               \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);               \
        }                                                                    \
    } while (0)

void fuzz_fail(const char *file, int line, const char *cond,
    const char *fmt, ...) __attribute__((noreturn, format(printf, 4, 5)));

void fuzz_dump(const char *what, const u_char *p, size_t len);


/* RFC 3629 UTF-8, independent of the module's decoder */
int fuzz_valid_utf8(const u_char *p, size_t len);


#endif /* _FUZZ_SHIM_H_INCLUDED_ */
