/* parsers_harness.h — shared test machinery: run a text through a parser
 * cut at given boundaries, check the streaming contract on the way, and
 * compare the reassembled answer with a reference. */
#ifndef VR_TESTS_PARSERS_HARNESS_H
#define VR_TESTS_PARSERS_HARNESS_H

#include "parsers_fixtures.h"

#include <stdio.h>

extern int vr_test_failures;

#define FAIL(...)                                                                   \
  do {                                                                              \
    if (vr_test_failures++ < 40) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } \
  } while (0)

void harness_fixture_opts(const fixture *f, vr_parser_opts *o, const char **allow);
/* The text fed at once through vr_parse_text. 0 on success. */
int harness_one_shot(const vr_parser_opts *o, const char *text, size_t len, vr_parse_result *out,
                     const char *label);
/* The text cut before each of cuts[0..ncuts) (ascending, <= len), fed piece
 * by piece; contract checked; result compared with ref. */
void harness_run_split(const vr_parser_opts *o, const char *text, size_t len, const size_t *cuts,
                       size_t ncuts, const vr_parse_result *ref, const char *label, const char *how);
int harness_results_equal(const vr_parse_result *a, const vr_parse_result *b);
int harness_json_object_valid(const char *s);
int harness_utf8_whole(const char *s, size_t n);
int harness_same_str(const char *a, const char *b);
void harness_show(const char *label, const char *s);
unsigned long long harness_rng(unsigned long long *x);

#endif
