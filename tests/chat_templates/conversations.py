"""Conversations the chat templates are rendered against (both by jinja2
and by vireo). Each is a dict with messages and optional tools, documents,
add_generation_prompt and extra (chat_template_kwargs)."""

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web — returns \"snippets\"",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "limit": {"type": "number", "default": 2.5}}, "required": ["q"]},
    },
}


def _call(name, args, cid=None):
    c = {"type": "function", "function": {"name": name, "arguments": args}}
    if cid:
        c["id"] = cid
    return c


def conversations():
    C = {}
    C["sys_user"] = {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                                  {"role": "user", "content": "Hello!"}], "add_generation_prompt": True}
    C["user_only"] = {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": False}
    C["user_only_gen"] = {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True}
    C["multi_turn"] = {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "And 3+3?"},
        {"role": "assistant", "content": "6"},
        {"role": "user", "content": "Thanks"}], "add_generation_prompt": True}
    C["ends_assistant"] = {"messages": [
        {"role": "user", "content": "Tell me a joke"},
        {"role": "assistant", "content": "Why did the chicken cross the road?"}], "add_generation_prompt": False}
    C["ends_assistant_gen"] = dict(C["ends_assistant"], add_generation_prompt=True)
    C["tool_calls_dict"] = {"messages": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [_call("get_weather", {"city": "Paris", "unit": "celsius", "days": 3})]},
        {"role": "tool", "content": "{\"temp\": 21.5, \"sky\": \"clear\"}", "name": "get_weather"},
        {"role": "assistant", "content": "It is 21.5°C and clear."},
        {"role": "user", "content": "Thanks!"}], "tools": [WEATHER_TOOL], "add_generation_prompt": True}
    C["tool_calls_str"] = {"messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [_call("get_weather", "{\"city\": \"Oslo\"}", "call_1")]},
        {"role": "tool", "content": "cold", "tool_call_id": "call_1", "name": "get_weather"}],
        "tools": [WEATHER_TOOL], "add_generation_prompt": True}
    C["tool_calls_multi"] = {"messages": [
        {"role": "user", "content": "Compare Paris and Rome"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [
            _call("get_weather", {"city": "Paris"}, "a1"), _call("get_weather", {"city": "Rome", "days": 1, "ok": True, "x": None, "f": 1.0, "l": [1, 2.5, "s"]}, "a2")]},
        {"role": "tool", "content": "sunny", "tool_call_id": "a1"},
        {"role": "tool", "content": "rainy", "tool_call_id": "a2"}],
        "tools": [WEATHER_TOOL, SEARCH_TOOL], "add_generation_prompt": True}
    C["tools_list"] = {"messages": [
        {"role": "system", "content": "Use tools when needed."},
        {"role": "user", "content": "Find news about C compilers"}], "tools": [WEATHER_TOOL, SEARCH_TOOL], "add_generation_prompt": True}
    C["tools_no_system"] = {"messages": [{"role": "user", "content": "search cats"}], "tools": [SEARCH_TOOL], "add_generation_prompt": True}
    C["unicode"] = {"messages": [
        {"role": "system", "content": "Réponds en français 🇫🇷. \"Quotes\" and 'single' \\ backslash"},
        {"role": "user", "content": "日本語のテキスト 😀 emoji, العربية, tab\there, newline\nend, {{ not a tag }} {% nor this %} <b>&amp;</b>"},
        {"role": "assistant", "content": "Ответ: ok ✓ \u00a0nbsp \u200b zw"},
        {"role": "user", "content": "ﬁn — “curly” ‘quotes’ …"}], "add_generation_prompt": True}
    C["empty_content"] = {"messages": [
        {"role": "system", "content": ""},
        {"role": "user", "content": ""},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "x"}], "add_generation_prompt": True}
    C["content_parts"] = {"messages": [
        {"role": "system", "content": [{"type": "text", "text": "System part."}]},
        {"role": "user", "content": [{"type": "text", "text": "Part one."}, {"type": "text", "text": "Part two."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Reply."}]},
        {"role": "user", "content": [{"type": "text", "text": "More?"}]}], "add_generation_prompt": True}
    C["content_image"] = {"messages": [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this."}]}], "add_generation_prompt": True}
    C["no_thinking"] = {"messages": [
        {"role": "user", "content": "Quick answer please"}], "add_generation_prompt": True, "extra": {"enable_thinking": False}}
    C["thinking_true"] = {"messages": [
        {"role": "user", "content": "Think hard"}], "add_generation_prompt": True, "extra": {"enable_thinking": True}}
    C["reasoning_history"] = {"messages": [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "<think>\nsome reasoning\n</think>\n\nA1"},
        {"role": "user", "content": "Q2"},
        {"role": "assistant", "content": "A2", "reasoning_content": "thinking about Q2"},
        {"role": "user", "content": "Q3"}], "add_generation_prompt": True}
    C["system_only"] = {"messages": [{"role": "system", "content": "Only a system prompt."}], "add_generation_prompt": True}
    C["whitespace"] = {"messages": [
        {"role": "system", "content": "  padded system  \n"},
        {"role": "user", "content": "\n\n  spaced user \t \n"},
        {"role": "assistant", "content": "   "},
        {"role": "user", "content": "end "}], "add_generation_prompt": False}
    long = [{"role": "system", "content": "You are a long-conversation assistant."}]
    for i in range(10):
        long.append({"role": "user", "content": f"Question number {i}: what is {i} squared?"})
        long.append({"role": "assistant", "content": f"{i} squared is {i * i}."})
    long.append({"role": "user", "content": "Summarise."})
    C["long_20"] = {"messages": long, "add_generation_prompt": True}
    C["two_users"] = {"messages": [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"}], "add_generation_prompt": True}
    C["assistant_first"] = {"messages": [
        {"role": "assistant", "content": "I start"},
        {"role": "user", "content": "ok"}], "add_generation_prompt": True}
    C["documents"] = {"messages": [{"role": "user", "content": "What do the docs say?"}],
                      "documents": [{"title": "Doc A", "text": "Alpha text."}, {"title": "Doc B", "text": "Beta — text."}],
                      "add_generation_prompt": True}
    C["custom_kwargs"] = {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True,
                          "extra": {"custom_instructions": "Speak like a pirate", "date_string": "01 Jan 2024", "tools_in_user_message": False}}
    C["tool_in_user_msg"] = {"messages": [{"role": "user", "content": "weather?"}], "tools": [WEATHER_TOOL],
                             "add_generation_prompt": True, "extra": {"tools_in_user_message": True}}
    C["special_tokens_text"] = {"messages": [
        {"role": "user", "content": "<|im_start|>user\nfake<|im_end|> [INST] <s> </s> <|eot_id|>"}], "add_generation_prompt": True}
    C["tool_only_turn"] = {"messages": [
        {"role": "user", "content": "do it"},
        {"role": "assistant", "tool_calls": [_call("search", {"q": "x y z", "limit": 3})]},
        {"role": "tool", "content": [{"type": "text", "text": "result text"}]},
        {"role": "assistant", "content": "done"}], "tools": [SEARCH_TOOL], "add_generation_prompt": False}
    C["ipython_role"] = {"messages": [
        {"role": "user", "content": "run"},
        {"role": "assistant", "content": "", "tool_calls": [_call("search", {"q": "a"})]},
        {"role": "ipython", "content": "output"}], "tools": [SEARCH_TOOL], "add_generation_prompt": True}
    C["numbers_in_args"] = {"messages": [
        {"role": "user", "content": "n"},
        {"role": "assistant", "content": "", "tool_calls": [_call("get_weather", {"a": 1e-05, "b": 1e16, "c": -0.0, "d": 123456789012, "e": 0.1, "f": 3.14159, "g": {"nested": [True, False, None]}})]}],
        "tools": [WEATHER_TOOL], "add_generation_prompt": False}
    return C
