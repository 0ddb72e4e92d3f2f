/* Long double arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
 *
 * Redis parses and adds these increments as C `long double` (80-bit x87 on
 * x86-64) and prints the sum with "%.17Lf", trailing zeros removed. Rust has
 * no long double, and emulating one bit for bit is more code than this file,
 * so the few lines that must agree with Redis to the last digit are C. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#define MAX_LD_CHARS 5120

/* Same acceptance rules as Redis's string2ld: no spaces, whole string, no NaN. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_LD_CHARS + 1];
    char *eptr;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) return 0;
    errno = 0;
    long double v = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Redis's ld2string in human mode. Returns the length written, 0 on failure. */
static int fmt_ld(long double v, char *out, size_t cap) {
    int l;
    if (isinf(v)) {
        if (cap < 5) return 0;
        if (v > 0) { memcpy(out, "inf", 3); l = 3; }
        else { memcpy(out, "-inf", 4); l = 4; }
        return l;
    }
    l = snprintf(out, cap, "%.17Lf", v);
    if (l < 1 || (size_t)l >= cap) return 0;
    if (strchr(out, '.') != NULL) {
        char *p = out + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; l = 1; }
    return l;
}

/* 1: ok (out holds the human form of cur+incr); -1: cur not a float;
 * -2: incr not a float; -3: result NaN or infinite; 0: buffer too small. */
int hm_add_long_double(const char *cur, size_t cur_len, const char *incr, size_t incr_len,
                       char *out, size_t cap, size_t *out_len) {
    long double a = 0, b;
    if (cur != NULL && !parse_ld(cur, cur_len, &a)) return -1;
    if (!parse_ld(incr, incr_len, &b)) return -2;
    long double r = a + b;
    if (isnan(r) || isinf(r)) return -3;
    int l = fmt_ld(r, out, cap);
    if (l == 0) return 0;
    *out_len = (size_t)l;
    return 1;
}

/* 1 if the string is a long double Redis would accept. */
int hm_is_long_double(const char *s, size_t len) {
    long double v;
    return parse_ld(s, len, &v);
}

/* strtod with Redis's string2d rules; 1 on success. */
int hm_parse_double(const char *s, size_t len, double *out) {
    char buf[MAX_LD_CHARS + 1];
    char *eptr;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len)) return 0;
    errno = 0;
    double v = strtod(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}
