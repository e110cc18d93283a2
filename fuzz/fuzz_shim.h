
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

#include "unit_pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* the pool the targets allocate from: t/unit's (t/unit/unit_pool.c) */
#define fuzz_pool           unit_pool
#define fuzz_pool_reset     unit_pool_reset
#define fuzz_pool_fail_at   unit_pool_fail_at
#define fuzz_pool_allocs    unit_pool_allocs
#define fuzz_pool_failed    unit_pool_failed


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
