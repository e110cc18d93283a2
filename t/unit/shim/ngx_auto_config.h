
/*
 * t/unit's stand-in for the ngx_auto_config.h nginx's configure writes
 * (see ngx_auto_headers.h here): what ngx_core.h needs to compile, the
 * sizes taken from the compiler rather than probed.  No event method, no
 * threads, no PCRE, no socket options: the pure units use none, and they
 * are linked into test programs, never into nginx.
 */


#define NGX_CONFIGURE  " (t/unit shim)"
#define NGX_COMPILER   "t/unit"

#define NGX_HAVE_GCC_ATOMIC            1
#define NGX_HAVE_C99_VARIADIC_MACROS   1
#define NGX_HAVE_GCC_VARIADIC_MACROS   1
#define NGX_HAVE_NONALIGNED            1
#define NGX_CPU_CACHE_LINE             64

#define NGX_PTR_SIZE                   __SIZEOF_POINTER__
#define NGX_SIG_ATOMIC_T_SIZE          4

#if (__SIZEOF_SIZE_T__ == 8)
#define NGX_MAX_SIZE_T_VALUE  9223372036854775807LL
#define NGX_SIZE_T_LEN        (sizeof("-9223372036854775808") - 1)
#else
#define NGX_MAX_SIZE_T_VALUE  2147483647
#define NGX_SIZE_T_LEN        (sizeof("-2147483648") - 1)
#endif

/* glibc's off_t and time_t with nginx's -D_FILE_OFFSET_BITS=64 */
#define NGX_MAX_OFF_T_VALUE   9223372036854775807LL
#define NGX_OFF_T_LEN         (sizeof("-9223372036854775808") - 1)

#if (__SIZEOF_LONG__ == 8)
#define NGX_TIME_T_SIZE       8
#define NGX_TIME_T_LEN        (sizeof("-9223372036854775808") - 1)
#define NGX_MAX_TIME_T_VALUE  9223372036854775807LL
#else
#define NGX_TIME_T_SIZE       4
#define NGX_TIME_T_LEN        (sizeof("-2147483648") - 1)
#define NGX_MAX_TIME_T_VALUE  2147483647
#endif

#if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define NGX_HAVE_LITTLE_ENDIAN  1
#endif
