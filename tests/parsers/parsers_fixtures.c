/* parsers_fixtures.c — recorded outputs in the formats real models produce
 * (Qwen3 / Hermes, Llama 3.1, Mistral, DeepSeek V3 / R1), each with the
 * answer the one-shot parse must give. Nasty cases on purpose: markers and
 * braces inside JSON strings, escaped quotes, unicode, text around calls,
 * malformed JSON, missing end markers, think blocks. */
#include "parsers_fixtures.h"

#define CALLS_BEGIN "<｜tool▁calls▁begin｜>"
#define CALLS_END "<｜tool▁calls▁end｜>"
#define CALL_BEGIN "<｜tool▁call▁begin｜>"
#define CALL_END "<｜tool▁call▁end｜>"
#define SEP "<｜tool▁sep｜>"

#define W_MAL VR_WARN_MALFORMED_CALL
#define W_ABORT VR_WARN_ABORTED_CALL
#define W_IGN VR_WARN_IGNORED_TEXT

const fixture vr_test_fixtures[] = {
  /* ---------------- hermes (Qwen2.5 / Qwen3) ---------------- */
  {.id = "hermes_two_calls_unicode", .tool_parser = "hermes",
   .text = "I'll check both cities.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
           "{\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call>\n<tool_call>\n{\"name\": "
           "\"get_weather\", \"arguments\": {\"city\": \"東京\", \"unit\": \"celsius\"}}\n</tool_call>",
   .content = "I'll check both cities.\n",
   .calls = {{"get_weather", "{\"city\": \"Paris\", \"unit\": \"celsius\"}"},
             {"get_weather", "{\"city\": \"東京\", \"unit\": \"celsius\"}"}}},
  {.id = "hermes_tricky_strings", .tool_parser = "hermes",
   .text = "<tool_call>\n{\"name\": \"run_code\", \"arguments\": {\"code\": "
           "\"print(\\\"}</tool_call>{\\\")\\n\", \"meta\": {\"tags\": [\"a\", \"{b}\", "
           "\"<tool_call>\"], \"n\": -1.5e3, \"ok\": true, \"none\": null, \"z\": 0}, "
           "\"emoji\": \"😀 \\u00e9 \\ud83d\\ude00\"}}\n</tool_call>",
   .content = NULL,
   .calls = {{"run_code",
              "{\"code\": \"print(\\\"}</tool_call>{\\\")\\n\", \"meta\": {\"tags\": [\"a\", "
              "\"{b}\", \"<tool_call>\"], \"n\": -1.5e3, \"ok\": true, \"none\": null, \"z\": 0}, "
              "\"emoji\": \"😀 \\u00e9 \\ud83d\\ude00\"}"}}},
  {.id = "hermes_text_around", .tool_parser = "hermes",
   .text = "Sure.<tool_call>{\"name\":\"lookup\",\"arguments\":{\"id\":7}}</tool_call>\n\n"
           "Done, waiting < for > results.",
   .content = "Sure.\n\nDone, waiting < for > results.",
   .calls = {{"lookup", "{\"id\":7}"}}},
  {.id = "hermes_malformed_after_start", .tool_parser = "hermes",
   .text = "Let me try.\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\",}}\n</tool_call>",
   .content = "Let me try.\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\",}}\n</tool_call>",
   .warnings = W_MAL | W_ABORT, .markers_in_content = 1},
  {.id = "hermes_malformed_then_valid", .tool_parser = "hermes",
   .text = "<tool_call>\n{\"name\": search, \"arguments\": {}}\n</tool_call>\n<tool_call>\n"
           "{\"name\": \"search\", \"arguments\": {\"q\": \"ok\"}}\n</tool_call>\n",
   .content = "<tool_call>\n{\"name\": search, \"arguments\": {}}\n</tool_call>\n",
   .calls = {{"search", "{\"q\": \"ok\"}"}},
   .warnings = W_MAL, .markers_in_content = 1},
  {.id = "hermes_missing_end_marker", .tool_parser = "hermes",
   .text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": [1, {\"b\": \"c\"}]}}\n",
   .calls = {{"f", "{\"a\": [1, {\"b\": \"c\"}]}"}}},
  {.id = "hermes_truncated_at_length", .tool_parser = "hermes",
   .text = "Working on it. <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": \"ab😀c",
   .content = "Working on it. <tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": \"ab😀c",
   .warnings = W_MAL | W_ABORT, .markers_in_content = 1},
  {.id = "hermes_raw_newlines_in_code", .tool_parser = "hermes",
   .text = "<tool_call>\n{\"name\": \"write_file\", \"arguments\": {\"path\": \"a.py\", "
           "\"code\": \"def f():\n\treturn 1\r\n\x01\"}}\n</tool_call>",
   .calls = {{"write_file", "{\"path\": \"a.py\", \"code\": \"def f():\\n\\treturn 1\\r\\n\\u0001\"}"}}},
  {.id = "hermes_args_before_name", .tool_parser = "hermes",
   .text = "<tool_call>{\"arguments\": {\"x\": \"y\"}, \"name\": \"n\\u00e4me\", \"extra\": [1]}</tool_call>",
   .calls = {{"näme", "{\"x\": \"y\"}"}}},
  {.id = "hermes_junk_in_wrapper", .tool_parser = "hermes",
   .text = "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}} oops</tool_call>after",
   .content = "after",
   .calls = {{"f", "{\"a\": 1}"}},
   .warnings = W_IGN},
  {.id = "hermes_missing_brace", .tool_parser = "hermes",
   .text = "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}</tool_call> tail",
   .content = " tail",
   .calls = {{"f", "{\"a\": 1}"}},
   .warnings = W_IGN},
  {.id = "hermes_string_arguments", .tool_parser = "hermes",
   .text = "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>",
   .content = "<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>",
   .warnings = W_MAL, .markers_in_content = 1},
  {.id = "hermes_unknown_tool", .tool_parser = "hermes", .allowed_tool = "get_weather",
   .text = "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>",
   .content = "<tool_call>{\"name\": \"rm_rf\", \"arguments\": {}}</tool_call>",
   .warnings = W_MAL | VR_WARN_UNKNOWN_TOOL, .markers_in_content = 1},
  {.id = "hermes_one_call_allowed", .tool_parser = "hermes", .max_calls = 1,
   .text = "A\n<tool_call>{\"name\": \"a\", \"arguments\": {}}</tool_call>\n<tool_call>{\"name\": \"b\", "
           "\"arguments\": {\"x\": 1}}</tool_call>\n<tool_call>{\"name\": \"c\", \"arguments\": {}}</tool_call>\n",
   .content = "A\n", .calls = {{"a", "{}"}}, .warnings = VR_WARN_EXTRA_CALL},
  {.id = "llama_one_call_allowed", .tool_parser = "llama3_json", .max_calls = 1,
   .text = "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {}} and then",
   .content = " and then", .calls = {{"a", "{}"}}, .warnings = VR_WARN_EXTRA_CALL},
  {.id = "hermes_near_marker_then_call", .tool_parser = "hermes",
   .text = "<tool_callx> is not it, <tool_call\n is not it either <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>",
   .content = "<tool_callx> is not it, <tool_call\n is not it either ",
   .calls = {{"f", "{}"}}},
  {.id = "hermes_whitespace_only", .tool_parser = "hermes", .text = "  \n", .content = "  \n"},
  {.id = "hermes_partial_marker_at_end", .tool_parser = "hermes",
   .text = "a <b> and <tool_cal", .content = "a <b> and <tool_cal"},
  {.id = "hermes_no_name", .tool_parser = "hermes",
   .text = "<tool_call>{\"arguments\": {\"a\": 1}}</tool_call>",
   .content = "<tool_call>{\"arguments\": {\"a\": 1}}</tool_call>",
   .warnings = W_MAL, .markers_in_content = 1},
  {.id = "hermes_deep_nesting", .tool_parser = "hermes",
   .text = "<tool_call>{\"name\": \"d\", \"arguments\": {\"a\": [[[[[[{\"b\": [[]]}]]]]]]}}</tool_call>",
   .calls = {{"d", "{\"a\": [[[[[[{\"b\": [[]]}]]]]]]}"}}},

  /* ---------------- reasoning: qwen3 ---------------- */
  {.id = "qwen3_think_then_call", .tool_parser = "hermes", .reasoning_parser = "qwen3",
   .text = "<think>\nThe user wants weather. I could write <tool_call> here, it is only thought.\n"
           "</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>",
   .reasoning = "\nThe user wants weather. I could write <tool_call> here, it is only thought.\n",
   .calls = {{"get_weather", "{\"city\": \"Zürich\"}"}}},
  {.id = "qwen3_think_then_answer", .tool_parser = "hermes", .reasoning_parser = "qwen3",
   .text = "<think>\nHmm, 6*7.\n</think>\n\nThe answer is 42.",
   .content = "\n\nThe answer is 42.", .reasoning = "\nHmm, 6*7.\n"},
  {.id = "qwen3_thinking_disabled_output", .reasoning_parser = "qwen3",
   .text = "The answer is 42. Not a <think> block.",
   .content = "The answer is 42. Not a <think> block.", .markers_in_content = 1},
  {.id = "qwen3_unclosed_stays_reasoning", .reasoning_parser = "qwen3",
   .text = "<think>\nLet me think about this for a very long ti",
   .reasoning = "\nLet me think about this for a very long ti",
   .warnings = VR_WARN_UNCLOSED_THINK},
  {.id = "qwen3_unclosed_as_content", .reasoning_parser = "qwen3", .unclosed_as_content = 1,
   .text = "<think>\nLet me think about this for a very long ti",
   .content = "<think>\nLet me think about this for a very long ti",
   .warnings = VR_WARN_UNCLOSED_THINK, .markers_in_content = 1},
  {.id = "qwen3_closed_with_unclosed_option", .reasoning_parser = "qwen3", .unclosed_as_content = 1,
   .text = "<think>ä</think>b", .content = "b", .reasoning = "ä"},
  {.id = "qwen3_prompt_opened_think", .reasoning_parser = "qwen3", .tool_parser = "hermes",
   .think_start = VR_THINK_OPEN,
   .text = "Reasoning without an opening tag.</think>Answer.",
   .content = "Answer.", .reasoning = "Reasoning without an opening tag."},
  {.id = "qwen3_enable_thinking_false", .reasoning_parser = "qwen3", .tool_parser = "hermes",
   .think_start = VR_THINK_OFF,
   .text = "<think>literal</think> text",
   .content = "<think>literal</think> text", .markers_in_content = 1},

  /* ---------------- reasoning: deepseek_r1 ---------------- */
  {.id = "r1_open_by_default", .reasoning_parser = "deepseek_r1",
   .text = "Okay, the user asks for a greeting.\n</think>\n\nHello!",
   .content = "\n\nHello!", .reasoning = "Okay, the user asks for a greeting.\n"},
  {.id = "r1_leading_think_tag", .reasoning_parser = "deepseek_r1",
   .text = "<think>\nR\n</think>\nC", .content = "\nC", .reasoning = "\nR\n"},
  {.id = "r1_unclosed", .reasoning_parser = "deepseek_r1",
   .text = "all of this is thinking </thin", .reasoning = "all of this is thinking </thin",
   .warnings = VR_WARN_UNCLOSED_THINK},
  {.id = "r1_with_deepseek_calls", .reasoning_parser = "deepseek_r1", .tool_parser = "deepseek_v3",
   .text = "I need the weather.</think>\n\n" CALLS_BEGIN CALL_BEGIN "function" SEP "get_weather\n```json\n"
           "{\"city\": \"Paris\"}\n```" CALL_END CALLS_END,
   .reasoning = "I need the weather.",
   .calls = {{"get_weather", "{\"city\": \"Paris\"}"}}},

  /* ---------------- deepseek_v3 ---------------- */
  {.id = "deepseek_two_calls", .tool_parser = "deepseek_v3",
   .text = "Let me look that up." CALLS_BEGIN CALL_BEGIN "function" SEP "get_weather\n```json\n"
           "{\"city\": \"Paris\"}\n```" CALL_END "\n" CALL_BEGIN "function" SEP "get_time\n```json\n"
           "{\"tz\": \"Europe/Paris\", \"fmt\": \"```" CALL_END "\"}\n```" CALL_END CALLS_END,
   .content = "Let me look that up.",
   .calls = {{"get_weather", "{\"city\": \"Paris\"}"},
             {"get_time", "{\"tz\": \"Europe/Paris\", \"fmt\": \"```" CALL_END "\"}"}}},
  {.id = "deepseek_v31_form", .tool_parser = "deepseek_v3",
   .text = CALLS_BEGIN CALL_BEGIN "search" SEP "{\"q\": \"π ≈ 3.14\"}" CALL_END CALLS_END " Searching.",
   .content = " Searching.",
   .calls = {{"search", "{\"q\": \"π ≈ 3.14\"}"}}},
  {.id = "deepseek_malformed_then_valid", .tool_parser = "deepseek_v3",
   .text = CALLS_BEGIN CALL_BEGIN "function" SEP "bad\n```json\n{\"a\": nope}\n```" CALL_END "\n"
           CALL_BEGIN "function" SEP "good\n```json\n{}\n```" CALL_END CALLS_END,
   .content = CALLS_BEGIN CALL_BEGIN "function" SEP "bad\n```json\n{\"a\": nope}\n```" CALL_END,
   .calls = {{"good", "{}"}},
   .warnings = W_MAL | W_ABORT, .markers_in_content = 1},
  {.id = "deepseek_no_fence", .tool_parser = "deepseek_v3",
   .text = CALLS_BEGIN CALL_BEGIN "function" SEP "f\n{\"a\": \"b\"}" CALL_END "\n" CALLS_END "\nDone.",
   .content = "\nDone.", .calls = {{"f", "{\"a\": \"b\"}"}}},
  {.id = "deepseek_lone_begin", .tool_parser = "deepseek_v3",
   .text = "text " CALLS_BEGIN " more",
   .content = "text " CALLS_BEGIN " more", .warnings = W_MAL, .markers_in_content = 1},
  {.id = "deepseek_missing_block_end", .tool_parser = "deepseek_v3",
   .text = CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n{\"k\": [true, false]}\n```",
   .calls = {{"f", "{\"k\": [true, false]}"}}},

  /* ---------------- llama3_json ---------------- */
  {.id = "llama_python_tag_two_calls", .tool_parser = "llama3_json",
   .text = "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}; "
           "{\"name\": \"get_time\", \"parameters\": {}}",
   .calls = {{"get_weather", "{\"city\": \"Paris\"}"}, {"get_time", "{}"}}},
  {.id = "llama_plain_text", .tool_parser = "llama3_json",
   .text = "The weather is {not} known; sorry.", .content = "The weather is {not} known; sorry."},
  {.id = "llama_bare_object_args_first", .tool_parser = "llama3_json",
   .text = "\n{\"parameters\": {\"q\": \"a;b}\"}, \"name\": \"search\"}",
   .calls = {{"search", "{\"q\": \"a;b}\"}"}}},
  {.id = "llama_json_answer_not_a_call", .tool_parser = "llama3_json",
   .text = "{\"answer\": 42}", .content = "{\"answer\": 42}", .warnings = W_MAL},
  {.id = "llama_call_then_text", .tool_parser = "llama3_json",
   .text = "{\"name\": \"f\", \"arguments\": {\"x\": 1.0}}\n\nI have called it.",
   .content = "\n\nI have called it.", .calls = {{"f", "{\"x\": 1.0}"}}},
  {.id = "llama_trailing_semicolon", .tool_parser = "llama3_json",
   .text = "<|python_tag|> {\"name\": \"f\", \"parameters\": {\"a\": \"x\"}} ; ",
   .calls = {{"f", "{\"a\": \"x\"}"}}},
  {.id = "llama_python_code", .tool_parser = "llama3_json",
   .text = "<|python_tag|>print(\"hi\")", .content = "<|python_tag|>print(\"hi\")",
   .warnings = W_MAL, .markers_in_content = 1},
  {.id = "llama_second_call_malformed", .tool_parser = "llama3_json",
   .text = "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {\"x\": [1,]}}",
   .content = "; {\"name\": \"b\", \"parameters\": {\"x\": [1,]}}",
   .calls = {{"a", "{}"}}, .warnings = W_MAL | W_ABORT},

  /* ---------------- mistral ---------------- */
  {.id = "mistral_list", .tool_parser = "mistral",
   .text = "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"x\": [1, 2, {\"y\": \"]\"}]}}, "
           "{\"name\": \"b\", \"arguments\": {}}]",
   .calls = {{"a", "{\"x\": [1, 2, {\"y\": \"]\"}]}"}, {"b", "{}"}}},
  {.id = "mistral_new_form", .tool_parser = "mistral",
   .text = "Checking.[TOOL_CALLS]get_weather[ARGS]{\"city\": \"Paris\"}[TOOL_CALLS]get_time[ARGS]{\"tz\": \"UTC\"}",
   .content = "Checking.",
   .calls = {{"get_weather", "{\"city\": \"Paris\"}"}, {"get_time", "{\"tz\": \"UTC\"}"}}},
  {.id = "mistral_new_form_text_between", .tool_parser = "mistral",
   .text = "[TOOL_CALLS]a[ARGS]{\"k\": [\"[ARGS]\"]} and [TOOL_CALLS]b[ARGS]{}",
   .content = " and ", .calls = {{"a", "{\"k\": [\"[ARGS]\"]}"}, {"b", "{}"}}},
  {.id = "mistral_list_second_malformed", .tool_parser = "mistral",
   .text = "[TOOL_CALLS] [{\"name\": \"a\", \"arguments\": {\"x\": 1}}, {\"name\": 5}]",
   .content = ", {\"name\": 5}]", .calls = {{"a", "{\"x\": 1}"}}, .warnings = W_MAL},
  {.id = "mistral_plain", .tool_parser = "mistral",
   .text = "No tools [needed] here [TOOL_CALL", .content = "No tools [needed] here [TOOL_CALL"},

  /* ---------------- tool_choice required / named, no parser ---------------- */
  {.id = "required_list", .tool_choice = VR_TOOL_CHOICE_REQUIRED,
   .text = "[{\"name\": \"f\", \"parameters\": {\"a\": 1}}, {\"name\": \"g\", \"parameters\": {\"b\": \"[x]\"}}]",
   .calls = {{"f", "{\"a\": 1}"}, {"g", "{\"b\": \"[x]\"}"}}},
  {.id = "named_function", .tool_choice = VR_TOOL_CHOICE_NAMED, .named_function = "get_weather",
   .text = "  {\"city\": \"Paris\", \"days\": 3}\n",
   .calls = {{"get_weather", "{\"city\": \"Paris\", \"days\": 3}"}}},
  {.id = "named_function_then_text", .tool_choice = VR_TOOL_CHOICE_NAMED, .named_function = "g",
   .text = "{\"x\": {}}\n\nextra words", .content = "\n\nextra words",
   .calls = {{"g", "{\"x\": {}}"}}},
  {.id = "named_function_not_json", .tool_choice = VR_TOOL_CHOICE_NAMED, .named_function = "f",
   .text = "I won't.", .content = "I won't.", .warnings = W_MAL},
  {.id = "no_parsers_passthrough",
   .text = "héllo <tool_call> wörld </think>", .content = "héllo <tool_call> wörld </think>",
   .markers_in_content = 1},
};

const int vr_test_fixture_count = (int)(sizeof vr_test_fixtures / sizeof vr_test_fixtures[0]);
