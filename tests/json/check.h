/* tests/json/check.h — the CHECK macro of the json/ tests: report and count,
 * keep going (one run lists every failure). */
#ifndef VR_TESTS_JSON_CHECK_H
#define VR_TESTS_JSON_CHECK_H

#include <stdio.h>

static int failures;
#define CHECK(c, ...)                                                                   \
    do {                                                                                \
        if (!(c)) {                                                                     \
            failures++;                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #c);      \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
        }                                                                               \
    } while (0)

#endif
