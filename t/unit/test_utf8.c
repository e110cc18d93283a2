
/*
 * Unit tests of ngx_k8s_metrics_utf8.h: the decoder every JSON writer and
 * the selectors use, at each boundary of RFC 3629's table (section 4).
 */


#include "unit.h"
#include "unit_pool.h"
#include "ngx_k8s_metrics_utf8.h"


static void
one(const char *bytes, size_t len, size_t n, uint32_t rune, int line)
{
    size_t    got;
    uint32_t  r;

    got = ngx_k8s_metrics_utf8_decode((u_char *) bytes,
                                      (u_char *) bytes + len, &r);

    check(got == n && r == rune, "line %d: length %zu rune U+%04X, "
          "expected %zu U+%04X", line, got, (unsigned) r, n, (unsigned) rune);
}


#define ok(s, rune)   one(s, sizeof(s) - 1, sizeof(s) - 1, rune, __LINE__)
#define bad(s)        one(s, sizeof(s) - 1, 0, 0xfffd, __LINE__)


static void
replace(const char *in, size_t len, ngx_int_t rc, const char *expect,
    int line)
{
    ngx_int_t  got;
    ngx_str_t  s, out;

    s.data = (u_char *) in;
    s.len = len;

    got = ngx_k8s_metrics_utf8_replace(unit_pool, &s, &out);

    check(got == rc && out.len == strlen(expect)
          && memcmp(out.data, expect, out.len) == 0
          && (rc != NGX_OK || out.data == s.data),
          "line %d: rc %d, \"%.*s\"", line, (int) got, (int) out.len,
          out.data);

    unit_pool_reset();
}


static void
test_replace(void)
{
    ngx_str_t  s, out;

    /* valid: the string itself, no copy */
    replace("abc", 3, NGX_OK, "abc", __LINE__);
    replace("\xe2\x82\xac", 3, NGX_OK, "\xe2\x82\xac", __LINE__);
    replace("", 0, NGX_OK, "", __LINE__);

    /* each byte that is not UTF-8 is one U+FFFD, as Go reads them */
    replace("a\xff" "b", 3, NGX_DECLINED, "a\xef\xbf\xbd" "b", __LINE__);
    replace("\xe2\x82", 2, NGX_DECLINED,
            "\xef\xbf\xbd\xef\xbf\xbd", __LINE__);
    replace("\xed\xa0\x80", 3, NGX_DECLINED,
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", __LINE__);

    /* without a pool: only whether it is valid */
    s.data = (u_char *) "a\xff";
    s.len = 2;
    check(ngx_k8s_metrics_utf8_replace(NULL, &s, &out) == NGX_DECLINED
          && out.data == s.data, "no pool: declined, no copy");

    /* no memory: an error, not a wrong string */
    unit_pool_fail_at(0);
    check(ngx_k8s_metrics_utf8_replace(unit_pool, &s, &out) == NGX_ERROR,
          "no memory");
    unit_pool_reset();
}


int
main(void)
{
    test_replace();

    /* one byte */
    one("\0", 1, 1, 0, __LINE__);
    ok("A", 'A');
    ok("\x7f", 0x7f);

    /* two bytes: C2..DF, never C0 or C1 (overlong) */
    ok("\xc2\x80", 0x80);
    ok("\xdf\xbf", 0x7ff);
    bad("\xc0\x80");
    bad("\xc1\xbf");
    bad("\xc2\x7f");
    bad("\xc2\xc0");
    bad("\xc2");

    /* three bytes: E0 A0..BF, E1..EC, ED 80..9F (no surrogate), EE..EF */
    ok("\xe0\xa0\x80", 0x800);
    bad("\xe0\x9f\xbf");
    ok("\xe1\x80\x80", 0x1000);
    ok("\xec\xbf\xbf", 0xcfff);
    ok("\xed\x9f\xbf", 0xd7ff);
    bad("\xed\xa0\x80");
    bad("\xed\xbf\xbf");
    ok("\xee\x80\x80", 0xe000);
    ok("\xef\xbf\xbd", 0xfffd);
    ok("\xef\xbf\xbf", 0xffff);
    bad("\xe1\x80");
    bad("\xe1\x80\x7f");
    bad("\xe1\x80\xc0");

    /* four bytes: F0 90..BF, F1..F3, F4 80..8F, nothing past U+10FFFF */
    ok("\xf0\x90\x80\x80", 0x10000);
    bad("\xf0\x8f\xbf\xbf");
    ok("\xf3\xbf\xbf\xbf", 0xfffff);
    ok("\xf4\x8f\xbf\xbf", 0x10ffff);
    bad("\xf4\x90\x80\x80");
    bad("\xf5\x80\x80\x80");
    bad("\xf8\x88\x80\x80\x80");
    bad("\xff");
    bad("\xf0\x90\x80");
    bad("\xf0\x90\x80\x7f");

    /* continuation bytes alone */
    bad("\x80");
    bad("\xbf");

    /* the end is honoured: a sequence cut by it is invalid */
    one("\xe2\x82\xac", 2, 0, 0xfffd, __LINE__);
    one("\xe2\x82\xac", 3, 3, 0x20ac, __LINE__);

    return unit_done("test_utf8");
}
