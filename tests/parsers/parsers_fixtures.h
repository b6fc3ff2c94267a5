/* parsers_fixtures.h — recorded model outputs and what each must parse to. */
#ifndef VR_TESTS_PARSERS_FIXTURES_H
#define VR_TESTS_PARSERS_FIXTURES_H

#include "server/parsers/parsers.h"

#define FIX_MAX_CALLS 4

typedef struct {
  const char *name;
  const char *args;
} fixture_call;

typedef struct {
  const char *id;
  const char *tool_parser;
  const char *reasoning_parser;
  vr_think_start think_start;
  int unclosed_as_content;
  vr_tool_choice tool_choice;
  const char *named_function;
  const char *allowed_tool; /* a one-name allow-list, or NULL */
  int max_calls;
  const char *text;
  const char *content;      /* expected; NULL = none */
  const char *reasoning;    /* expected; NULL = none */
  fixture_call calls[FIX_MAX_CALLS];
  unsigned warnings;        /* expected warning bits, exactly */
  int markers_in_content;   /* 1: content may hold marker text (malformed) */
} fixture;

extern const fixture vr_test_fixtures[];
extern const int vr_test_fixture_count;

#endif
