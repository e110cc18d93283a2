
/*
 * ngx_metrics_module: pieces of the Prometheus text exposition format, as
 * client_golang writes them: label values and floats.  No nginx runtime
 * call, so that unit tests link this file alone.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_k8s_metrics_exposition.h"


/* a label value: backslash, double quote and newline escaped */

u_char *
ngx_k8s_metrics_prom_escape(u_char *p, u_char *last, ngx_str_t *value)
{
    ngx_uint_t  i;

    for (i = 0; i < value->len && p + 2 <= last; i++) {
        switch (value->data[i]) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = value->data[i];
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = value->data[i];
        }
    }

    return p;
}


/*
 * A float as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it, which is
 * how client_golang writes bucket bounds: the fewest digits that read back
 * the same; an exponent below 1e-4 and from 1e6 on.
 */

u_char *
ngx_k8s_metrics_prom_float(u_char *p, u_char *last, double value)
{
    int    n, digits, exp;
    char  *e, buf[40];

    for (digits = 1; digits < 17; digits++) {
        (void) snprintf(buf, sizeof(buf), "%.*e", digits - 1, value);

        if (strtod(buf, NULL) == value) {
            break;
        }
    }

    n = snprintf(buf, sizeof(buf), "%.*e", digits - 1, value);

    e = strchr(buf, 'e');
    exp = (e == NULL) ? 0 : atoi(e + 1);

    if (exp >= -4 && exp < 6) {
        n = snprintf(buf, sizeof(buf), "%.*f", ngx_max(digits - 1 - exp, 0),
                     value);
    }

    if (n < 0) {
        return p;
    }

    return ngx_cpymem(p, buf, ngx_min((size_t) n, (size_t) (last - p)));
}
