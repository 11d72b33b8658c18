// Request parsing: the fields OpenAI clients send, their defaults, and the API key compare.
#include <gtest/gtest.h>

#include "server/api_key.h"
#include "server/request.h"

namespace aded::server {
namespace {

TEST(ServerRequest, CompletionFields) {
  const auto r = parse_completion_request(
      R"({"model": "m", "prompt": "hi", "max_tokens": 7, "temperature": 0, "top_p": 0.5, "seed": 3,
          "stop": ["a", "b"], "stream": true, "logprobs": 2, "speculative": {"method": "pld", "n_max": 4},
          "stream_options": {"include_usage": true}, "user": "ignored"})",
      Endpoint::Completions);
  EXPECT_EQ(r.prompt, "hi");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_EQ(r.sampling.temperature, 0);
  EXPECT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.sampling.seed, 3u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.logprobs);
  EXPECT_TRUE(r.include_usage_in_stream);
  EXPECT_EQ(r.speculative.method, "pld");
  EXPECT_EQ(r.speculative.n_max, 4);
}

TEST(ServerRequest, DefaultsAndAlternativeShapes) {
  RequestLimits limits;
  limits.default_max_tokens = 33;
  auto r = parse_completion_request(R"({"prompt": ["one prompt"], "stop": "x", "max_tokens": null})",
                                    Endpoint::Completions, limits);
  EXPECT_EQ(r.prompt, "one prompt");
  EXPECT_EQ(r.max_tokens, 33);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_FALSE(r.seed_given);
  r = parse_completion_request(R"({"prompt": [1, 2, 3], "max_tokens": 4.0})", Endpoint::Completions);
  EXPECT_TRUE(r.prompt_is_tokens);
  EXPECT_EQ(r.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(r.max_tokens, 4);
  r = parse_completion_request(
      R"({"messages": [{"role": "developer", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
          "max_completion_tokens": 9, "logprobs": true})",
      Endpoint::ChatCompletions);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "ab");
  EXPECT_EQ(r.max_tokens, 9);
  EXPECT_TRUE(r.logprobs);
}

TEST(ServerRequest, ErrorsNameTheField) {
  const auto param = [](const char* body, Endpoint e = Endpoint::Completions) {
    try {
      parse_completion_request(body, e);
    } catch (const RequestError& error) {
      return error.param();
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(param("{"), "");
  EXPECT_EQ(param("null"), "");
  EXPECT_EQ(param(R"({"prompt": 1e999})"), "");  // a number no double holds: found by fuzzing
  EXPECT_EQ(param(R"({"prompt": null})"), "prompt");
  EXPECT_EQ(param(R"({"prompt": "x", "max_tokens": 1e30})"), "max_tokens");
  EXPECT_EQ(param(R"({"prompt": "x", "max_tokens": 18446744073709551615})"), "max_tokens");
  EXPECT_EQ(param(R"({"prompt": "x", "temperature": "hot"})"), "temperature");
  EXPECT_EQ(param(R"({"prompt": "x", "frequency_penalty": 0.5})"), "frequency_penalty");
  EXPECT_EQ(param(R"({"prompt": "x", "frequency_penalty": 0})"), "(accepted)");
  EXPECT_EQ(param(R"({"prompt": "x", "stream_options": 1})"), "stream_options");
  EXPECT_EQ(param(R"({"messages": [{"content": "x"}]})", Endpoint::ChatCompletions), "messages[0].role");
  EXPECT_EQ(param(R"({"messages": "hi"})", Endpoint::ChatCompletions), "messages");
}

TEST(ServerRequest, ApiKeyCompare) {
  EXPECT_TRUE(same_key("abc", "abc"));
  EXPECT_FALSE(same_key("abd", "abc"));
  EXPECT_FALSE(same_key("ab", "abc"));
  EXPECT_FALSE(same_key("abcd", "abc"));
  EXPECT_FALSE(same_key("", ""));
  EXPECT_EQ(bearer_token("Bearer k1"), "k1");
  EXPECT_EQ(bearer_token("bearer k1"), "k1");
  EXPECT_EQ(bearer_token("Basic k1"), "");
}

}  // namespace
}  // namespace aded::server
