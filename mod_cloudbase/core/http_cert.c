/*
 * http_cert.c: reads the dates of a peer certificate as libcurl's
 * certificate info spells them (OpenSSL's ASN1_TIME_print: "Dec  4
 * 18:11:13 2026 GMT"), for the streaming client's cert_not_after. Written
 * by hand rather than with strptime so that the process's locale cannot
 * change what a month is called. Pure: the unit suite and fuzz_cert_time
 * drive it.
 */
#include <string.h>
#include <time.h>

#include "cb_core.h"

/* Days from 1970-01-01 to year-month-day (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Reads up to max_digits digits; -1 when there is none. */
static int read_number(const char **s, int max_digits)
{
    int v = 0, n = 0;
    while (n < max_digits && **s >= '0' && **s <= '9') {
        v = v * 10 + (**s - '0');
        (*s)++;
        n++;
    }
    return n ? v : -1;
}

apr_time_t cb_cert_time_parse(const char *text)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *s = text;
    int month = 0, day, hour, minute, second, year;
    while (*s == ' ')
        s++;
    for (int i = 0; i < 12; i++)
        if (strncmp(s, months + i * 3, 3) == 0)
            month = i + 1;
    if (!month)
        return 0;
    s += 3;
    while (*s == ' ')
        s++;
    if ((day = read_number(&s, 2)) < 1 || day > 31 || *s++ != ' ' ||
        (hour = read_number(&s, 2)) < 0 || hour > 23 || *s++ != ':' ||
        (minute = read_number(&s, 2)) < 0 || minute > 59 || *s++ != ':' ||
        (second = read_number(&s, 2)) < 0 || second > 60)
        return 0;
    if (*s == '.') /* fractional seconds */
        while (*++s >= '0' && *s <= '9')
            ;
    if (*s++ != ' ' || (year = read_number(&s, 4)) < 1970 || strncmp(s, " GMT", 4) != 0)
        return 0;
    return apr_time_from_sec(days_from_civil(year, month, day) * 86400 + hour * 3600 +
                             minute * 60 + second);
}
