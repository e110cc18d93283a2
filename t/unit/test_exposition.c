
/*
 * Unit tests of ngx_k8s_metrics_exposition.h: floats as Go's
 * strconv.FormatFloat(v, 'g', -1, 64) writes them (client_golang's bucket
 * bounds, metrics-server's "le" labels), and label values escaped as the
 * text format requires.
 */


#include "unit.h"
#include "ngx_k8s_metrics_exposition.h"


static void
one_float(double v, const char *expect, int line)
{
    u_char  buf[64], *p;

    p = ngx_k8s_metrics_prom_float(buf, buf + sizeof(buf), v);

    check((size_t) (p - buf) == strlen(expect)
          && memcmp(buf, expect, p - buf) == 0,
          "line %d: \"%.*s\", expected \"%s\"", line, (int) (p - buf), buf,
          expect);
}


static void
one_escape(const char *in, size_t room, const char *expect, int line)
{
    u_char     buf[64], *p;
    ngx_str_t  s;

    s.data = (u_char *) in;
    s.len = strlen(in);

    p = ngx_k8s_metrics_prom_escape(buf, buf + room, &s);

    check((size_t) (p - buf) == strlen(expect)
          && memcmp(buf, expect, p - buf) == 0,
          "line %d: \"%.*s\", expected \"%s\"", line, (int) (p - buf), buf,
          expect);
}


int
main(void)
{
    /* Prometheus' DefBuckets and metrics-server's own bounds */
    one_float(.005, "0.005", __LINE__);
    one_float(.01, "0.01", __LINE__);
    one_float(.025, "0.025", __LINE__);
    one_float(2.5, "2.5", __LINE__);
    one_float(10, "10", __LINE__);
    one_float(0, "0", __LINE__);
    one_float(3, "3", __LINE__);

    /* the shortest digits that read back the same */
    one_float(0.1 + 0.2, "0.30000000000000004", __LINE__);
    one_float(1.0 / 3, "0.3333333333333333", __LINE__);

    /* an exponent below 1e-4 and from 1e6 on (shortest 'g': eprec 6) */
    one_float(0.0001, "0.0001", __LINE__);
    one_float(0.00001, "1e-05", __LINE__);
    one_float(0.000015, "1.5e-05", __LINE__);
    one_float(123456, "123456", __LINE__);
    one_float(1e6, "1e+06", __LINE__);
    one_float(-2.5, "-2.5", __LINE__);

    /* backslash, double quote and newline, nothing else */
    one_escape("node-1", 64, "node-1", __LINE__);
    one_escape("a\"b\\c\nd", 64, "a\\\"b\\\\c\\nd", __LINE__);
    one_escape("tab\there", 64, "tab\there", __LINE__);

    /* never past last, and an escape never cut in two */
    one_escape("a\"b", 2, "a", __LINE__);
    one_escape("a\"b", 3, "a\\\"", __LINE__);
    one_escape("\"", 1, "", __LINE__);

    return unit_done("test_exposition");
}
