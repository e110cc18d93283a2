/*
 * bench/wrk-clientcert.c -- LD_PRELOAD shim that makes wrk present a TLS
 * client certificate, which wrk has no option for.
 *
 * wrk creates its one client SSL_CTX with SSL_CTX_new(); this wraps that
 * call and loads WRK_CLIENT_CERT (a PEM chain) and WRK_CLIENT_KEY into the
 * new context.  The bench uses it to present the front-proxy client
 * certificate, with -H "X-Remote-User: ..." -H "X-Remote-Group: ...", as
 * kube-apiserver's aggregation layer does: the module then authenticates
 * every request by requestheader (chain verified against the front-proxy
 * CA, CN allowed), the path a real cluster takes.
 *
 *   cc -O2 -shared -fPIC -o wrk-clientcert.so wrk-clientcert.c -ldl -lssl
 *   WRK_CLIENT_CERT=front-proxy-client.crt WRK_CLIENT_KEY=... \
 *       LD_PRELOAD=./wrk-clientcert.so wrk ...
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/ssl.h>
#include <openssl/err.h>


SSL_CTX *
SSL_CTX_new(const SSL_METHOD *method)
{
    SSL_CTX             *ctx;
    const char          *cert, *key;
    static SSL_CTX    *(*real)(const SSL_METHOD *);

    if (real == NULL) {
        real = (SSL_CTX *(*)(const SSL_METHOD *)) dlsym(RTLD_NEXT,
                                                        "SSL_CTX_new");
        if (real == NULL) {
            fprintf(stderr, "wrk-clientcert: no SSL_CTX_new: %s\n",
                    dlerror());
            abort();
        }
    }

    ctx = real(method);
    if (ctx == NULL) {
        return NULL;
    }

    cert = getenv("WRK_CLIENT_CERT");
    key = getenv("WRK_CLIENT_KEY");

    if (cert == NULL || key == NULL) {
        return ctx;
    }

    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(ctx) != 1)
    {
        fprintf(stderr, "wrk-clientcert: cannot load %s / %s\n", cert, key);
        ERR_print_errors_fp(stderr);
        abort();
    }

    return ctx;
}
