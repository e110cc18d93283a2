
/*
 * ngx_metrics_module fuzzing: the few nginx runtime functions the code
 * under test calls, over malloc().
 *
 * `make` builds the module's objects only, and Debian's nginx-dev ships
 * nginx's headers, not its core sources, so nginx's own ngx_palloc.c,
 * ngx_array.c and ngx_string.c are not there to link.  The pool functions
 * below allocate every block separately (nginx's pool would hide an
 * overrun inside its 16k blocks from AddressSanitizer); ngx_strlow() and
 * ngx_hextoi() are written here to nginx's documented behaviour, on which
 * ngx_k8s_metrics_decode_extra_key() depends (ngx_hextoi(): NGX_ERROR on
 * n == 0, on a non-hex byte and on overflow).
 */


#include "fuzz_shim.h"

#include <stdarg.h>


typedef struct fuzz_block_s  fuzz_block_t;

struct fuzz_block_s {
    fuzz_block_t  *next;
    void          *data;
};


static ngx_pool_t     fuzz_pool_storage;
ngx_pool_t           *fuzz_pool = &fuzz_pool_storage;

static fuzz_block_t  *fuzz_blocks;
static long           fuzz_allocs;
static long           fuzz_fail_index = -1;
static int            fuzz_failed;


static void *
fuzz_alloc(size_t size)
{
    fuzz_block_t  *b;

    if (fuzz_allocs++ == fuzz_fail_index) {
        fuzz_failed = 1;
        return NULL;
    }

    b = malloc(sizeof(fuzz_block_t));
    if (b == NULL) {
        abort();
    }

    /* malloc(0) gives a block ASan reports any access to: what we want */
    b->data = malloc(size);
    if (b->data == NULL && size) {
        abort();
    }

    b->next = fuzz_blocks;
    fuzz_blocks = b;

    return b->data;
}


void
fuzz_pool_reset(void)
{
    fuzz_block_t  *b;

    while (fuzz_blocks) {
        b = fuzz_blocks;
        fuzz_blocks = b->next;
        free(b->data);
        free(b);
    }

    fuzz_allocs = 0;
    fuzz_fail_index = -1;
    fuzz_failed = 0;
}


void
fuzz_pool_fail_at(long n)
{
    fuzz_fail_index = n;
}


long
fuzz_pool_allocs(void)
{
    return fuzz_allocs;
}


int
fuzz_pool_failed(void)
{
    return fuzz_failed;
}


void *
ngx_palloc(ngx_pool_t *pool, size_t size)
{
    (void) pool;
    return fuzz_alloc(size);
}


void *
ngx_pnalloc(ngx_pool_t *pool, size_t size)
{
    (void) pool;
    return fuzz_alloc(size);
}


void *
ngx_pcalloc(ngx_pool_t *pool, size_t size)
{
    void  *p;

    (void) pool;

    p = fuzz_alloc(size);
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


void
fuzz_dump(const char *what, const u_char *p, size_t len)
{
    size_t  i;

    fprintf(stderr, "%s (%zu bytes): \"", what, len);

    for (i = 0; i < len && i < 4096; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
            fputc(p[i], stderr);

        } else {
            fprintf(stderr, "\\x%02x", p[i]);
        }
    }

    fprintf(stderr, "%s\"\n", i < len ? "..." : "");
}


void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "\n==FUZZ INVARIANT== %s:%d: %s\n  ", file, line, cond);

    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);

    fputc('\n', stderr);

    abort();
}


int
fuzz_valid_utf8(const u_char *p, size_t len)
{
    size_t    i, n, k;
    uint32_t  c;

    for (i = 0; i < len; i += n) {
        c = p[i];

        if (c < 0x80) {
            n = 1;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 2;
            c &= 0x1f;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 3;
            c &= 0x0f;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 4;
            c &= 0x07;

        } else {
            return 0;
        }

        if (len - i < n) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            c = (c << 6) | (p[i + k] & 0x3f);
        }

        if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000)
            || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        {
            return 0;
        }
    }

    return 1;
}
