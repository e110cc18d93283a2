
/*
 * t/unit (and fuzz/): the few nginx runtime functions the pure units
 * call, over malloc().
 *
 * Debian's nginx-dev ships nginx's headers, not its core sources, so
 * nginx's own ngx_palloc.c, ngx_array.c and ngx_string.c are not there to
 * link.  The pool functions below allocate every block separately (nginx's
 * pool would hide an overrun inside its 16k blocks from AddressSanitizer);
 * ngx_strlow() and ngx_hextoi() are written here to nginx's documented
 * behaviour, on which ngx_k8s_metrics_decode_extra_key() depends
 * (ngx_hextoi(): NGX_ERROR on n == 0, on a non-hex byte and on overflow);
 * so are ngx_pstrdup(), ngx_memn2cmp(), ngx_murmur_hash2() (MurmurHash2,
 * seeded with the length, as nginx's) and ngx_slprintf() for the formats
 * the units use (%V, %s, %c, %d, %i, %ui, %uz, %uL; any other aborts).
 */


#include "unit_pool.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct unit_block_s  unit_block_t;

struct unit_block_s {
    unit_block_t  *next;
    void          *data;
};


static ngx_pool_t     unit_pool_storage;
ngx_pool_t           *unit_pool = &unit_pool_storage;

static unit_block_t  *unit_blocks;
static long           unit_pool_nallocs;
static long           unit_pool_fail_index = -1;
static int            unit_pool_hit;


static void *
unit_alloc(size_t size)
{
    unit_block_t  *b;

    if (unit_pool_nallocs++ == unit_pool_fail_index) {
        unit_pool_hit = 1;
        return NULL;
    }

    b = malloc(sizeof(unit_block_t));
    if (b == NULL) {
        abort();
    }

    /* malloc(0) gives a block ASan reports any access to: what we want */
    b->data = malloc(size);
    if (b->data == NULL && size) {
        abort();
    }

    b->next = unit_blocks;
    unit_blocks = b;

    return b->data;
}


void
unit_pool_reset(void)
{
    unit_block_t  *b;

    while (unit_blocks) {
        b = unit_blocks;
        unit_blocks = b->next;
        free(b->data);
        free(b);
    }

    unit_pool_nallocs = 0;
    unit_pool_fail_index = -1;
    unit_pool_hit = 0;
}


void
unit_pool_fail_at(long n)
{
    unit_pool_fail_index = n;
}


long
unit_pool_allocs(void)
{
    return unit_pool_nallocs;
}


int
unit_pool_failed(void)
{
    return unit_pool_hit;
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    (void) pool;
    return unit_alloc(size);
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    (void) pool;
    return unit_alloc(size);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    (void) pool;

    p = unit_alloc(size);
    if (p && size) {
        memset(p, 0, size);
    }

    return p;
}


/* nginx's: a buffer of size bytes to write into, and a chain link */

ngx_buf_t *
ngx_create_temp_buf(ngx_pool_t *pool, size_t size)
{
    ngx_buf_t  *b;

    b = ngx_pcalloc(pool, sizeof(ngx_buf_t));
    if (b == NULL) {
        return NULL;
    }

    b->start = ngx_palloc(pool, size);
    if (b->start == NULL) {
        return NULL;
    }

    b->pos = b->start;
    b->last = b->start;
    b->end = b->start + size;
    b->temporary = 1;

    return b;
}


ngx_chain_t *
ngx_alloc_chain_link(ngx_pool_t *pool)
{
    return ngx_palloc(pool, sizeof(ngx_chain_t));
}


ngx_array_t *
ngx_array_create(ngx_pool_t *p, ngx_uint_t n, size_t size)
{
    ngx_array_t  *a;

    a = ngx_palloc(p, sizeof(ngx_array_t));
    if (a == NULL) {
        return NULL;
    }

    if (ngx_array_init(a, p, n, size) != NGX_OK) {
        return NULL;
    }

    return a;
}


/* nginx grows an array in place when it can: never here, so that a
 * pointer kept into the old elements is a use after free for ASan */

void *
ngx_array_push(ngx_array_t *a)
{
    void        *elt, *new;
    ngx_uint_t   n;

    if (a->nelts == a->nalloc) {
        n = a->nalloc ? 2 * a->nalloc : 1;

        new = ngx_palloc(a->pool, n * a->size);
        if (new == NULL) {
            return NULL;
        }

        if (a->nelts) {
            memcpy(new, a->elts, a->nelts * a->size);
        }

        a->elts = new;
        a->nalloc = n;
    }

    elt = (u_char *) a->elts + a->size * a->nelts;
    a->nelts++;

    return elt;
}


/* nginx 1.22 src/core/ngx_string.c */

void
ngx_strlow(u_char *dst, u_char *src, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? src[i] | 0x20 : src[i];
    }
}


/* hexadecimal digits to a value: NGX_ERROR for none, another byte, overflow */

ngx_int_t
ngx_hextoi(u_char *line, size_t n)
{
    size_t     i;
    ngx_int_t  value, digit;

    if (n == 0) {
        return NGX_ERROR;
    }

    value = 0;

    for (i = 0; i < n; i++) {
        if (line[i] >= '0' && line[i] <= '9') {
            digit = line[i] - '0';

        } else if ((line[i] | 0x20) >= 'a' && (line[i] | 0x20) <= 'f') {
            digit = (line[i] | 0x20) - 'a' + 10;

        } else {
            return NGX_ERROR;
        }

        if (value > (NGX_MAX_INT_T_VALUE - digit) / 16) {
            return NGX_ERROR;
        }

        value = value * 16 + digit;
    }

    return value;
}


u_char *
ngx_pstrdup(ngx_pool_t *pool, ngx_str_t *src)
{
    u_char  *dst;

    dst = ngx_pnalloc(pool, src->len);
    if (dst == NULL) {
        return NULL;
    }

    if (src->len) {
        memcpy(dst, src->data, src->len);
    }

    return dst;
}


/* as memcmp() over the shorter length; then the shorter is the lesser */

ngx_int_t
ngx_memn2cmp(u_char *s1, u_char *s2, size_t n1, size_t n2)
{
    int  m;

    m = (n1 && n2) ? memcmp(s1, s2, n1 < n2 ? n1 : n2) : 0;

    if (m || n1 == n2) {
        return m;
    }

    return n1 < n2 ? -1 : 1;
}


uint32_t
ngx_murmur_hash2(u_char *data, size_t len)
{
    uint32_t  h, k;

    h = 0 ^ (uint32_t) len;

    while (len >= 4) {
        k = data[0] | (uint32_t) data[1] << 8 | (uint32_t) data[2] << 16
            | (uint32_t) data[3] << 24;

        k *= 0x5bd1e995;
        k ^= k >> 24;
        k *= 0x5bd1e995;

        h *= 0x5bd1e995;
        h ^= k;

        data += 4;
        len -= 4;
    }

    switch (len) {
    case 3:
        h ^= (uint32_t) data[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t) data[1] << 8;
        /* fall through */
    case 1:
        h ^= data[0];
        h *= 0x5bd1e995;
    }

    h ^= h >> 13;
    h *= 0x5bd1e995;
    h ^= h >> 15;

    return h;
}


static u_char *
unit_copy(u_char *buf, u_char *last, const char *src, size_t n)
{
    while (n-- && buf < last) {
        *buf++ = (u_char) *src++;
    }

    return buf;
}


u_char *
ngx_vslprintf(u_char *buf, u_char *last, const char *fmt, va_list args)
{
    char        num[32];
    ngx_str_t  *v;
    const char *s;

    while (*fmt && buf < last) {
        if (*fmt != '%') {
            *buf++ = (u_char) *fmt++;
            continue;
        }

        fmt++;

        switch (*fmt++) {

        case 'V':
            v = va_arg(args, ngx_str_t *);
            buf = unit_copy(buf, last, (const char *) v->data, v->len);
            continue;

        case 's':
            s = va_arg(args, const char *);
            buf = unit_copy(buf, last, s, strlen(s));
            continue;

        case 'c':
            *buf++ = (u_char) va_arg(args, int);
            continue;

        case 'd':
            snprintf(num, sizeof(num), "%d", va_arg(args, int));
            break;

        case 'i':
            snprintf(num, sizeof(num), "%ld", (long) va_arg(args, ngx_int_t));
            break;

        case 'u':
            switch (*fmt++) {
            case 'i':
                snprintf(num, sizeof(num), "%lu",
                         (unsigned long) va_arg(args, ngx_uint_t));
                break;
            case 'z':
                snprintf(num, sizeof(num), "%zu", va_arg(args, size_t));
                break;
            case 'L':
                snprintf(num, sizeof(num), "%llu",
                         (unsigned long long) va_arg(args, uint64_t));
                break;
            default:
                abort();
            }
            break;

        case '%':
            *buf++ = '%';
            continue;

        default:
            abort();
        }

        buf = unit_copy(buf, last, num, strlen(num));
    }

    return buf;
}


u_char * ngx_cdecl
ngx_slprintf(u_char *buf, u_char *last, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, last, fmt, args);
    va_end(args);

    return p;
}
