
/*
 * t/unit's stand-in for the ngx_auto_headers.h nginx's configure writes:
 * the pure units and their tests include ngx_core.h only, and build
 * against the unconfigured sources Debian's nginx-dev ships in
 * /usr/share/nginx/src (see t/unit/Makefile).  Linux and glibc only.
 */


#define NGX_HAVE_UNISTD_H       1
#define NGX_HAVE_INTTYPES_H     1
#define NGX_HAVE_LIMITS_H       1
#define NGX_HAVE_SYS_PARAM_H    1
#define NGX_HAVE_SYS_MOUNT_H    1
#define NGX_HAVE_SYS_STATVFS_H  1
#define NGX_HAVE_CRYPT_H        1
#define NGX_LINUX               1
#define NGX_HAVE_SYS_PRCTL_H    1
#define NGX_HAVE_SYS_VFS_H      1
