
/*
 * Fuzz target: ngx_k8s_metrics_format_cpu(), _format_memory(),
 * _format_duration() and _format_time() (quantity.c).
 *
 * Input: bytes 0-7, little-endian, the value (missing bytes are 0); with
 * a byte 8, the value is reshaped to (value mod 10^6) x 1000^k or x 1024^k
 * (k = bits 0-2, base by bit 3), to reach the suffix boundaries often.
 * Every formatter writes into an exactly NGX_K8S_METRICS_QUANTITY_LEN-byte
 * heap block, so a longer output is an ASan report.
 *
 * Invariants checked:
 *   - cpu (nanocores) and memory (bytes): the output is in Kubernetes'
 *     quantity grammar (resource.ParseQuantity: sign, digits, fraction,
 *     suffix n u m k M G T P E / Ki .. Ei / e<exp>), parsed back here
 *     exactly (128-bit integers) to the value metrics-server gives it:
 *     the value itself up to INT64_MAX, above it the value with its last
 *     decimal digit zeroed (uint64Quantity);
 *   - and it is canonical (Quantity.String(): CanonicalizeBytes): digits
 *     without sign, leading zero or fraction; decimal suffixes with the
 *     mantissa not a multiple of 1000 below E; memory from 1024 up in
 *     binary suffixes with the mantissa not a multiple of 1024 below Ei,
 *     below 1024 in decimal;
 *   - duration: the output is in the grammar of Go's Duration.String()
 *     ("0s"; below 1s one of ns/µs/ms with at most 0/3/6 fraction digits;
 *     else [Nh][Mm]S[.F]s with minutes and seconds below 60, hours and
 *     minutes present exactly from 1h and 1m, no leading zeros, no
 *     trailing fraction zeros) and time.ParseDuration(), written here from
 *     Go's src/time/format.go, gives back the same nanoseconds (INT64_MIN
 *     included);
 *   - time: RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (a '-' before a negative
 *     year), and the days-from-civil count of that date and time gives
 *     back the seconds; the epoch when gmtime() cannot represent them.
 */


#include "fuzz_shim.h"

#include <math.h>


typedef unsigned __int128  u128;


#define LEN  NGX_K8S_METRICS_QUANTITY_LEN


typedef u_char *(*format_pt)(u_char *p, uint64_t v);


/* the value metrics-server's uint64Quantity() puts in a Quantity */

static uint64_t
fit(uint64_t v)
{
    return v > (uint64_t) INT64_MAX ? v / 10 * 10 : v;
}


static size_t
format(format_pt f, uint64_t v, u_char *out)
{
    u_char  *buf, *p;
    size_t   n;

    buf = malloc(LEN);
    if (buf == NULL) {
        abort();
    }

    p = f(buf, v);

    fuzz_assert(p > buf && p <= buf + LEN, "returned %td bytes", p - buf);

    n = p - buf;
    memcpy(out, buf, n);
    out[n] = '\0';

    free(buf);

    return n;
}


static u_char *
cpu(u_char *p, uint64_t v)
{
    return ngx_k8s_metrics_format_cpu(p, v);
}


static u_char *
memory(u_char *p, uint64_t v)
{
    return ngx_k8s_metrics_format_memory(p, v);
}


static u_char *
duration(u_char *p, uint64_t v)
{
    return ngx_k8s_metrics_format_duration(p, (int64_t) v);
}


static u_char *
rfc3339(u_char *p, uint64_t v)
{
    return ngx_k8s_metrics_format_time(p, (time_t) (int64_t) v);
}


/* multiplies *v by m; 0 on overflow */

static int
mul(u128 *v, u128 m)
{
    if (m && *v > ~(u128) 0 / m) {
        return 0;
    }

    *v *= m;

    return 1;
}


/*
 * resource.ParseQuantity()'s grammar:
 *   <quantity> ::= <signedNumber><suffix>
 *   <suffix>   ::= <binarySI> | <decimalExponent> | <decimalSI>
 *   <binarySI> ::= Ki | Mi | Gi | Ti | Pi | Ei
 *   <decimalSI> ::= n | u | m | "" | k | M | G | T | P | E
 *   <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
 *   <number>   ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
 * The value times 10^scale10, as an exact non-negative integer; 0 when
 * the string is not a quantity, or the value negative, fractional or
 * too large.
 */

static int
parse_quantity(const u_char *s, size_t len, int scale10, u128 *value)
{
    u128         m;
    size_t       i, digits, frac;
    int          exp10, exp2, neg, eneg;
    long         e;

    static const char  dec[] = "num kMGTPE";
    static const char  bin[] = "KMGTPE";

    i = 0;
    neg = 0;

    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = (s[i++] == '-');
    }

    m = 0;
    digits = 0;
    frac = 0;

    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (!mul(&m, 10)) {
            return 0;
        }

        m += s[i++] - '0';
        digits++;
    }

    if (i < len && s[i] == '.') {
        i++;

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (!mul(&m, 10)) {
                return 0;
            }

            m += s[i++] - '0';
            digits++;
            frac++;
        }
    }

    if (digits == 0) {
        return 0;
    }

    exp10 = 0;
    exp2 = 0;

    if (i == len) {
        /* no suffix */

    } else if (len - i == 2 && s[i + 1] == 'i'
               && memchr(bin, s[i], 6) != NULL)
    {
        exp2 = 10 * (1 + (int) ((char *) memchr(bin, s[i], 6) - bin));

    } else if (len - i == 1 && s[i] != ' ' && memchr(dec, s[i], 10)) {
        exp10 = 3 * (int) ((char *) memchr(dec, s[i], 10) - dec) - 9;

    } else if (s[i] == 'e' || s[i] == 'E') {
        i++;
        eneg = 0;

        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = (s[i++] == '-');
        }

        if (i == len) {
            return 0;
        }

        for (e = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9' || e > 1000) {
                return 0;
            }

            e = e * 10 + (s[i] - '0');
        }

        exp10 = eneg ? (int) -e : (int) e;

    } else {
        return 0;
    }

    if (neg && m != 0) {
        return 0;
    }

    exp10 += scale10 - (int) frac;

    for ( /* void */ ; exp10 < 0; exp10++) {
        if (m % 10) {
            return 0;
        }

        m /= 10;
    }

    for ( /* void */ ; exp10 > 0; exp10--) {
        if (!mul(&m, 10)) {
            return 0;
        }
    }

    for ( /* void */ ; exp2 > 0; exp2--) {
        if (!mul(&m, 2)) {
            return 0;
        }
    }

    *value = m;

    return 1;
}


/* [1-9][0-9]* or "0"; the mantissa, and where its digits end */

static size_t
mantissa(const u_char *s, size_t len, uint64_t *m)
{
    size_t  i;
    u128    v;

    v = 0;

    for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');
        fuzz_assert(v <= UINT64_MAX, "mantissa too long: \"%.*s\"",
                    (int) len, s);
    }

    *m = (uint64_t) v;

    fuzz_assert(i > 0, "no digits: \"%.*s\"", (int) len, s);
    fuzz_assert(s[0] != '0' || i == 1, "leading zero: \"%.*s\"", (int) len,
                s);

    return i;
}


/* a canonical DecimalSI quantity; min: the smallest suffix allowed */

static void
check_decimal(const u_char *s, size_t len, const char *min)
{
    size_t       i;
    uint64_t     m;
    const char  *suffix, *at;

    static const char  order[] = "num kMGTPE";

    i = mantissa(s, len, &m);
    suffix = (const char *) s + i;

    if (m == 0) {
        fuzz_assert(i == len, "zero with a suffix: \"%.*s\"", (int) len, s);
        return;
    }

    fuzz_assert(len - i <= 1, "suffix \"%s\"", suffix);

    at = (i == len) ? strchr(order, ' ') : strchr(order, *suffix);

    fuzz_assert(at != NULL && *suffix != ' ', "suffix \"%s\"", suffix);
    fuzz_assert(at >= strchr(order, *min), "suffix \"%s\" below \"%s\"",
                suffix, min);
    fuzz_assert(m % 1000 != 0 || *at == 'E', "not canonical: \"%.*s\"",
                (int) len, s);
}


static void
check_binary(const u_char *s, size_t len)
{
    size_t       i;
    uint64_t     m;
    const char  *suffix;

    i = mantissa(s, len, &m);
    suffix = (const char *) s + i;

    fuzz_assert(m > 0, "zero in binary form");

    if (i == len) {
        fuzz_assert(m % 1024 != 0, "not canonical: \"%.*s\"", (int) len, s);
        return;
    }

    fuzz_assert(len - i == 2 && suffix[1] == 'i'
                && memchr("KMGTPE", suffix[0], 6),
                "suffix \"%s\"", suffix);
    fuzz_assert(m % 1024 != 0 || suffix[0] == 'E',
                "not canonical: \"%.*s\"", (int) len, s);
}


static void
check_cpu(uint64_t v)
{
    u_char  out[LEN + 1];
    size_t  n;
    u128    got;

    n = format(cpu, v, out);

    fuzz_assert(parse_quantity(out, n, 9, &got),
                "cpu %llu: \"%s\" is no quantity", (unsigned long long) v,
                out);
    fuzz_assert(got == fit(v), "cpu %llu: \"%s\" parses back to another "
                "value", (unsigned long long) v, out);

    check_decimal(out, n, "n");
}


static void
check_memory(uint64_t v)
{
    u_char  out[LEN + 1];
    size_t  n;
    u128    got;

    n = format(memory, v, out);

    fuzz_assert(parse_quantity(out, n, 0, &got),
                "memory %llu: \"%s\" is no quantity", (unsigned long long) v,
                out);
    fuzz_assert(got == fit(v), "memory %llu: \"%s\" parses back to another "
                "value", (unsigned long long) v, out);

    if (fit(v) < 1024) {
        check_decimal(out, n, " ");

    } else {
        check_binary(out, n);
    }
}


/* Go's time.ParseDuration() (src/time/format.go) */

static int
leading_int(const u_char **s, const u_char *end, uint64_t *x)
{
    const u_char  *p;

    *x = 0;

    for (p = *s; p < end && *p >= '0' && *p <= '9'; p++) {
        if (*x > (1ULL << 63) / 10) {
            return 0;
        }

        *x = *x * 10 + (*p - '0');

        if (*x > 1ULL << 63) {
            return 0;
        }
    }

    *s = p;

    return 1;
}


static void
leading_fraction(const u_char **s, const u_char *end, uint64_t *x,
    double *scale)
{
    const u_char  *p;
    uint64_t       y;
    int            overflow = 0;

    *x = 0;
    *scale = 1;

    for (p = *s; p < end && *p >= '0' && *p <= '9'; p++) {
        if (overflow) {
            continue;
        }

        if (*x > (UINT64_MAX >> 1) / 10) {
            overflow = 1;
            continue;
        }

        y = *x * 10 + (*p - '0');

        if (y > 1ULL << 63) {
            overflow = 1;
            continue;
        }

        *x = y;
        *scale *= 10;
    }

    *s = p;
}


static int
parse_duration(const u_char *s, size_t len, int64_t *out)
{
    const u_char  *p, *end, *u;
    uint64_t       d, v, f, unit;
    double         scale;
    int            neg, pre, post;
    size_t         n;

    p = s;
    end = s + len;
    d = 0;
    neg = 0;

    if (p < end && (*p == '-' || *p == '+')) {
        neg = (*p++ == '-');
    }

    if (end - p == 1 && *p == '0') {
        *out = 0;
        return 1;
    }

    if (p == end) {
        return 0;
    }

    while (p < end) {
        if (!(*p == '.' || (*p >= '0' && *p <= '9'))) {
            return 0;
        }

        u = p;

        if (!leading_int(&p, end, &v)) {
            return 0;
        }

        pre = (p != u);
        post = 0;
        f = 0;
        scale = 1;

        if (p < end && *p == '.') {
            p++;
            u = p;
            leading_fraction(&p, end, &f, &scale);
            post = (p != u);
        }

        if (!pre && !post) {
            return 0;
        }

        for (u = p; p < end && *p != '.' && !(*p >= '0' && *p <= '9'); p++) {
            /* void */
        }

        n = p - u;

        if (n == 2 && memcmp(u, "ns", 2) == 0) {
            unit = 1;
        } else if ((n == 2 && memcmp(u, "us", 2) == 0)
                   || (n == 3 && memcmp(u, "\xc2\xb5s", 3) == 0)
                   || (n == 3 && memcmp(u, "\xce\xbcs", 3) == 0))
        {
            unit = 1000;
        } else if (n == 2 && memcmp(u, "ms", 2) == 0) {
            unit = 1000000;
        } else if (n == 1 && *u == 's') {
            unit = 1000000000;
        } else if (n == 1 && *u == 'm') {
            unit = 60000000000ULL;
        } else if (n == 1 && *u == 'h') {
            unit = 3600000000000ULL;
        } else {
            return 0;
        }

        if (v > (1ULL << 63) / unit) {
            return 0;
        }

        v *= unit;

        if (f > 0) {
            v += (uint64_t) ((double) f * ((double) unit / scale));

            if (v > 1ULL << 63) {
                return 0;
            }
        }

        d += v;

        if (d > 1ULL << 63) {
            return 0;
        }
    }

    if (neg) {
        *out = (int64_t) (0 - d);
        return 1;
    }

    if (d > (uint64_t) INT64_MAX) {
        return 0;
    }

    *out = (int64_t) d;

    return 1;
}


/* digits without a leading zero ("0" alone allowed), at most max */

static const u_char *
number(const u_char *p, const u_char *end, uint64_t *v, uint64_t max,
    const u_char *s)
{
    const u_char  *start = p;

    *v = 0;

    while (p < end && *p >= '0' && *p <= '9') {
        *v = *v * 10 + (*p++ - '0');
        fuzz_assert(p - start <= 20, "number too long in \"%s\"", s);
    }

    fuzz_assert(p > start, "digits expected in \"%s\"", s);
    fuzz_assert(*start != '0' || p - start == 1, "leading zero in \"%s\"",
                s);
    fuzz_assert(*v <= max, "%llu above %llu in \"%s\"",
                (unsigned long long) *v, (unsigned long long) max, s);

    return p;
}


static const u_char *
fraction(const u_char *p, const u_char *end, size_t max, const u_char *s)
{
    const u_char  *start;

    if (p == end || *p != '.') {
        return p;
    }

    start = ++p;

    while (p < end && *p >= '0' && *p <= '9') {
        p++;
    }

    fuzz_assert(p > start && (size_t) (p - start) <= max,
                "fraction of %td digits in \"%s\"", p - start, s);
    fuzz_assert(p[-1] != '0', "trailing zero in \"%s\"", s);

    return p;
}


static void
check_duration(int64_t ns)
{
    u_char         out[LEN + 1];
    const u_char  *p, *end;
    const char    *unit;
    size_t         n, maxfrac;
    uint64_t       u, x;
    int64_t        back;

    n = format(duration, (uint64_t) ns, out);
    p = out;
    end = out + n;

    u = (ns < 0) ? 0 - (uint64_t) ns : (uint64_t) ns;

    if (ns < 0) {
        fuzz_assert(*p == '-', "negative without '-': \"%s\"", out);
        p++;
    }

    if (u == 0) {
        fuzz_assert(n == 2 && memcmp(out, "0s", 2) == 0, "zero: \"%s\"",
                    out);

    } else if (u < 1000000000) {

        if (u < 1000) {
            unit = "ns";
            maxfrac = 0;

        } else if (u < 1000000) {
            unit = "\xc2\xb5s";
            maxfrac = 3;

        } else {
            unit = "ms";
            maxfrac = 6;
        }

        p = number(p, end, &x, 999, out);
        fuzz_assert(x > 0, "zero units: \"%s\"", out);
        p = fraction(p, end, maxfrac, out);

        fuzz_assert((size_t) (end - p) == strlen(unit)
                    && memcmp(p, unit, end - p) == 0,
                    "unit of \"%s\", want %s", out, unit);

    } else {
        if (u >= 3600000000000ULL) {
            p = number(p, end, &x, UINT64_MAX, out);
            fuzz_assert(x > 0 && p < end && *p == 'h', "hours: \"%s\"", out);
            p++;
        }

        if (u >= 60000000000ULL) {
            p = number(p, end, &x, 59, out);
            fuzz_assert(p < end && *p == 'm', "minutes: \"%s\"", out);
            fuzz_assert(x > 0 || u >= 3600000000000ULL, "0m: \"%s\"", out);
            p++;
        }

        p = number(p, end, &x, 59, out);
        fuzz_assert(x > 0 || u >= 60000000000ULL, "0s: \"%s\"", out);
        p = fraction(p, end, 9, out);

        fuzz_assert(end - p == 1 && *p == 's', "seconds: \"%s\"", out);
    }

    fuzz_assert(parse_duration(out, n, &back), "ParseDuration(\"%s\") fails",
                out);
    fuzz_assert(back == ns, "\"%s\" parses back to %lld, not %lld", out,
                (long long) back, (long long) ns);
}


/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant) */

static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t  era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static const u_char *
two(const u_char *p, int64_t *v, int64_t max, const u_char *s, char after)
{
    fuzz_assert(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9'
                && (after == '\0' || p[2] == after),
                "bad field in \"%s\"", s);

    *v = (p[0] - '0') * 10 + (p[1] - '0');

    fuzz_assert(*v <= max, "field above %lld in \"%s\"", (long long) max, s);

    return p + 3;
}


static void
check_time(int64_t t)
{
    u_char         out[LEN + 1];
    const u_char  *p;
    size_t         n, digits;
    int64_t        year, mon, day, h, m, s, neg;
    time_t         tt;
    struct tm      tm;

    n = format(rfc3339, (uint64_t) t, out);

    tt = (time_t) t;

    if (gmtime_r(&tt, &tm) == NULL) {
        fuzz_assert(strcmp((char *) out, "1970-01-01T00:00:00Z") == 0,
                    "unrepresentable %lld: \"%s\", not the epoch",
                    (long long) t, out);
        return;
    }

    p = out;
    neg = (*p == '-');
    p += neg;

    year = 0;

    for (digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
        year = year * 10 + (*p - '0');
    }

    fuzz_assert(digits >= 4 && (digits == 4 || out[neg] != '0'),
                "year of \"%s\"", out);
    fuzz_assert(*p == '-', "no '-' after the year in \"%s\"", out);

    if (neg) {
        year = -year;
    }

    p = two(p + 1, &mon, 12, out, '-');
    p = two(p, &day, 31, out, 'T');
    p = two(p, &h, 23, out, ':');
    p = two(p, &m, 59, out, ':');
    p = two(p, &s, 59, out, 'Z');

    fuzz_assert(p == out + n && mon >= 1 && day >= 1,
                "layout of \"%s\"", out);

    fuzz_assert(days_from_civil(year, mon, day) * 86400 + h * 3600 + m * 60
                + s == t, "\"%s\" is not %lld", out, (long long) t);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int       k, i;
    uint64_t  v, base;

    v = 0;

    for (i = 0; i < 8 && (size_t) i < size; i++) {
        v |= (uint64_t) data[i] << (8 * i);
    }

    if (size > 8) {
        k = data[8] & 7;
        base = (data[8] & 8) ? 1024 : 1000;

        v %= 1000000;

        while (k--) {
            v *= base;      /* wraps: any value is fine */
        }
    }

    check_cpu(v);
    check_memory(v);
    check_duration((int64_t) v);
    check_time((int64_t) v);

    /* the neighbours of the value, and its opposite */
    check_cpu(v + 1);
    check_memory(v - 1);
    check_duration((int64_t) (0 - v));

    return 0;
}
