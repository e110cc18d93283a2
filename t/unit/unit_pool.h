
/*
 * t/unit (and fuzz/): nginx's pool, array and two string functions over
 * malloc(), for the pure units linked alone.  See unit_pool.c.
 */


#ifndef _UNIT_POOL_H_INCLUDED_
#define _UNIT_POOL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/*
 * Every pool allocation is its own malloc() block, exactly the size asked
 * for, so that AddressSanitizer sees a one-byte overrun of any of them; all
 * are freed by unit_pool_reset().
 */
extern ngx_pool_t  *unit_pool;

void unit_pool_reset(void);

/* the allocation with this index (from 0 after a reset) fails; -1: none */
void unit_pool_fail_at(long n);

/* allocations made since the last reset */
long unit_pool_allocs(void);

/* whether the injected failure happened since the last reset */
int unit_pool_failed(void);


#endif /* _UNIT_POOL_H_INCLUDED_ */
