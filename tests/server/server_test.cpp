// aded serve end to end, in-process on the demo model: every endpoint, streaming, chat, errors
// with the field named, limits (body size, prompt, max_tokens, a full queue), the API key, a
// client that disconnects, stopping with a request running, and greedy output identical to the
// library's Generator with and without speculation.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "aded/generator.h"
#include "server/server_fixture.h"
#include "support/test_support.h"

namespace aded::testing {
namespace {

using nlohmann::json;

const char* kPrompt = "def read_config(path):\n    \"\"\"Read the configuration file.\"\"\"\n";

std::string generator_text(const std::string& prompt, int n) {
  Context ctx(demo_model(), {.n_threads = 1});
  Generator generator(ctx);
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.max_new_tokens = n;
  return generator.generate(prompt, o).text;
}

double metric(const std::string& page, const std::string& name) {
  const size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + name.size() + 2));
}

TEST(Server, HealthModelsAndPage) {
  RunningServer s;
  auto health = s.client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  auto models = s.client.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  const json m = json::parse(models->body);
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "demo-python.gguf");
  auto page = s.client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<textarea"), std::string::npos);
  EXPECT_NE(page->body.find("/v1/completions"), std::string::npos);
  auto missing = s.client.Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(json::parse(missing->body).contains("error"));
}

TEST(Server, GreedyCompletionIsTheGeneratorsWithAndWithoutSpeculation) {
  const std::string expected = generator_text(kPrompt, 48);
  RunningServer s;
  for (const char* method :
       {"none", "pld", "aded", "aded:search=mcts", "select:of=pld/aded", "union:of=pld/aded", "auto:of=none/pld/aded"}) {
    SCOPED_TRACE(method);
    auto r = s.post("/v1/completions", {{"prompt", kPrompt}, {"max_tokens", 48}, {"temperature", 0},
                                        {"speculative", {{"method", method}}}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json body = json::parse(r->body);
    EXPECT_EQ(body["object"], "text_completion");
    EXPECT_EQ(body["choices"][0]["text"], expected);
    EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(body["usage"]["completion_tokens"], 48);
    EXPECT_EQ(body["timings"]["speculative_method"], method);
    EXPECT_TRUE(body["timings"].contains("draft_n"));
    EXPECT_TRUE(body["timings"].contains("draft_n_accepted"));
    if (std::string(method) == "none") {
      EXPECT_EQ(body["timings"]["draft_n"], 0);
    }
  }
  // The same twice in a row (the slot's cache reuses the prompt; drafters have learned).
  auto again = s.post("/v1/completions", {{"prompt", kPrompt}, {"max_tokens", 48}, {"temperature", 0},
                                          {"speculative", {{"method", "aded"}, {"n_max", 4}}}});
  ASSERT_TRUE(again);
  EXPECT_EQ(json::parse(again->body)["choices"][0]["text"], expected);
  EXPECT_GT(json::parse(again->body)["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
}

TEST(Server, GreedyCompletionIsAdedRunsWithAndWithoutSpeculation) {
  TempDir dir;
  write_file(dir / "prompt.txt", kPrompt);
  RunningServer s;
  for (const char* method : {"none", "aded"}) {
    SCOPED_TRACE(method);
    const CommandResult run = run_cli(fmt::format("run -m '{}' -f '{}' -n 40 --temp 0 -t 1 --spec {}",
                                                  demo_model_path().string(), (dir / "prompt.txt").string(), method));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    auto r = s.post("/v1/completions", {{"prompt", kPrompt}, {"max_tokens", 40}, {"temperature", 0},
                                        {"speculative", {{"method", method}}}});
    ASSERT_TRUE(r);
    // aded run prints the prompt, the generated text and a newline.
    EXPECT_EQ(std::string(kPrompt) + json::parse(r->body)["choices"][0]["text"].get<std::string>() + "\n", run.out);
  }
}

TEST(Server, StreamedCompletionIsTheSameTextEndingWithDone) {
  RunningServer s;
  const json request = {{"prompt", kPrompt}, {"max_tokens", 40}, {"temperature", 0}};
  auto whole = s.post("/v1/completions", request);
  ASSERT_TRUE(whole);
  json streaming = request;
  streaming["stream"] = true;
  streaming["return_tokens"] = true;
  streaming["speculative"] = {{"method", "pld"}};
  auto r = s.post("/v1/completions", streaming);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  const auto events = sse_data(r->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text, token_text;
  int tokens = 0;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json chunk = json::parse(events[i]);
    text += chunk["choices"][0]["text"].get<std::string>();
    for (const auto& t : chunk["choices"][0].value("tokens", json::array())) {
      token_text += t["text"].get<std::string>();
      ++tokens;
      EXPECT_TRUE(t["drafted"].is_boolean());
    }
  }
  EXPECT_EQ(text, json::parse(whole->body)["choices"][0]["text"]);
  EXPECT_EQ(token_text, text);
  EXPECT_EQ(tokens, 40);
  const json last = json::parse(events[events.size() - 2]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(last["usage"]["completion_tokens"], 40);
  EXPECT_EQ(last["timings"]["speculative_method"], "pld");
}

TEST(Server, StopStringsLogprobsAndSeed) {
  RunningServer s;
  auto r = s.post("/v1/completions", {{"prompt", kPrompt}, {"max_tokens", 64}, {"temperature", 0}, {"stop", "\n"},
                                      {"logprobs", 1}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  const std::string text = body["choices"][0]["text"];
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  const json& lp = body["choices"][0]["logprobs"];
  ASSERT_FALSE(lp["token_logprobs"].empty());
  for (const auto& v : lp["token_logprobs"]) EXPECT_LE(v.get<double>(), 0.0);
  // Sampling with a seed is reproducible.
  const json sampled = {{"prompt", kPrompt}, {"max_tokens", 24}, {"temperature", 0.9}, {"seed", 7}};
  auto a = s.post("/v1/completions", sampled), b = s.post("/v1/completions", sampled);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(json::parse(a->body)["choices"][0]["text"], json::parse(b->body)["choices"][0]["text"]);
}

TEST(Server, ChatWithANamedTemplateStreamedAndNot) {
  ServerOptions o = test_options();
  o.chat_template = "chatml";
  RunningServer s(o);
  const json messages = json::array({{{"role", "system"}, {"content", "You write Python."}},
                                     {{"role", "user"}, {"content", "def main():"}}});
  auto r = s.post("/v1/chat/completions", {{"messages", messages}, {"max_tokens", 20}, {"temperature", 0}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  const std::string content = body["choices"][0]["message"]["content"];
  auto st = s.post("/v1/chat/completions",
                   {{"messages", messages}, {"max_tokens", 20}, {"temperature", 0}, {"stream", true}});
  ASSERT_TRUE(st);
  const auto events = sse_data(st->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(json::parse(events[0])["choices"][0]["delta"]["role"], "assistant");
  std::string streamed;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json chunk = json::parse(events[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    streamed += chunk["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(streamed, content);
}

TEST(Server, ChatIsRefusedWithTheReasonWhenTheTemplateIsUnknown) {
  RunningServer s;  // the demo model has no chat template
  EXPECT_NE(s.server.chat_refusal().find("--chat-template"), std::string::npos);
  auto r = s.post("/v1/chat/completions", {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const json e = json::parse(r->body)["error"];
  EXPECT_EQ(e["param"], "messages");
  EXPECT_NE(e["message"].get<std::string>().find("--chat-template"), std::string::npos);
}

TEST(Server, BadRequestsAre400NamingTheField) {
  ServerOptions o = test_options();
  o.chat_template = "chatml";
  o.max_tokens = 100;
  RunningServer s(o);
  struct Case {
    const char* path;
    std::string body;
    const char* param;  // "" for the body as a whole
  };
  const std::vector<Case> cases = {
      {"/v1/completions", "{not json", ""},
      {"/v1/completions", "[1,2]", ""},
      {"/v1/completions", R"({})", "prompt"},
      {"/v1/completions", R"({"prompt": 5})", "prompt"},
      {"/v1/completions", R"({"prompt": [1, -2]})", "prompt[1]"},
      {"/v1/completions", R"({"prompt": [1, 999999]})", "prompt[1]"},
      {"/v1/completions", R"({"prompt": ["a", "b"]})", "prompt"},
      {"/v1/completions", R"({"prompt": "x", "max_tokens": -1})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "x", "max_tokens": 101})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "x", "max_tokens": "ten"})", "max_tokens"},
      {"/v1/completions", R"({"prompt": "x", "temperature": -1})", "temperature"},
      {"/v1/completions", R"({"prompt": "x", "top_p": 2})", "top_p"},
      {"/v1/completions", R"({"prompt": "x", "seed": 1.5})", "seed"},
      {"/v1/completions", R"({"prompt": "x", "stop": [1]})", "stop[0]"},
      {"/v1/completions", R"({"prompt": "x", "stop": ""})", "stop"},
      {"/v1/completions", R"({"prompt": "x", "stream": "yes"})", "stream"},
      {"/v1/completions", R"({"prompt": "x", "n": 2})", "n"},
      {"/v1/completions", R"({"prompt": "x", "speculative": {"method": "nonsense"}})", "speculative.method"},
      {"/v1/completions", R"({"prompt": "x", "speculative": {"method": "pld:max=100000"}})", "speculative.method"},
      {"/v1/completions", R"({"prompt": "x", "speculative": {"method": "aded:ngram=/etc/passwd"}})",
       "speculative.method"},
      // ... nor through a member of a union or select, nor a skip set's @FILE
      {"/v1/completions", R"({"prompt": "x", "speculative": {"method": "union:of=pld/aded:ngram=/etc/passwd"}})",
       "speculative.method"},
      {"/v1/completions", R"({"prompt": "x", "speculative": {"method": "select:of=pld/draft:model=/etc/passwd"}})",
       "speculative.method"},
      {"/v1/completions", R"({"prompt": "x", "speculative": {"method": "self:skip=@/etc/passwd"}})",
       "speculative.method"},
      {"/v1/completions", R"({"prompt": "x", "speculative": {"n_max": -3}})", "speculative.n_max"},
      {"/v1/completions", R"({"prompt": "x", "speculative": "pld"})", "speculative"},
      {"/v1/chat/completions", R"({"messages": []})", "messages"},
      {"/v1/chat/completions", R"({"messages": [{"role": "robot", "content": "x"}]})", "messages[0].role"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": 3}]})", "messages[0].content"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
       "messages[0].content[0].type"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    auto r = s.client.Post(c.path, c.body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    const json e = json::parse(r->body).at("error");
    EXPECT_EQ(e["type"], "invalid_request_error");
    if (*c.param) {
      EXPECT_EQ(e["param"], c.param) << e["message"];
    } else {
      EXPECT_TRUE(e["param"].is_null());
    }
    EXPECT_FALSE(e["message"].get<std::string>().empty());
  }
  // Unknown fields are ignored, as OpenAI clients send optional ones freely.
  auto ok = s.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 2}, {"user", "me"}, {"whatever", {1, 2}}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  // Still serving after all that.
  EXPECT_EQ(s.client.Get("/health")->status, 200);
}

TEST(Server, LimitsOnBodySizeAndPromptLength) {
  ServerOptions o = test_options();
  o.max_body_bytes = 4096;
  o.max_prompt_tokens = 20;
  RunningServer s(o);
  auto big = s.post("/v1/completions", {{"prompt", std::string(8000, 'a')}});
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_TRUE(json::parse(big->body).contains("error"));
  auto long_prompt = s.post("/v1/completions", {{"prompt", std::string(1000, 'x') + " y z"}, {"max_tokens", 1}});
  ASSERT_TRUE(long_prompt);
  EXPECT_EQ(long_prompt->status, 400);
  EXPECT_EQ(json::parse(long_prompt->body)["error"]["param"], "prompt");
}

TEST(Server, ApiKeyOnEveryEndpointButHealth) {
  ServerOptions o = test_options();
  o.api_key = "s3cret";
  RunningServer s(o);
  EXPECT_EQ(s.client.Get("/health")->status, 200);
  EXPECT_EQ(s.client.Get("/v1/models")->status, 401);
  EXPECT_EQ(s.client.Get("/metrics")->status, 401);
  EXPECT_EQ(s.post("/v1/completions", {{"prompt", "x"}})->status, 401);
  s.client.set_bearer_token_auth("wrong");
  EXPECT_EQ(s.client.Get("/v1/models")->status, 401);
  s.client.set_bearer_token_auth("s3cret");
  EXPECT_EQ(s.client.Get("/v1/models")->status, 200);
  EXPECT_EQ(s.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 2}})->status, 200);
}

TEST(Server, TokenizeAndDetokenize) {
  RunningServer s;
  auto t = s.post("/tokenize", {{"content", "import os\n"}, {"with_pieces", false}});
  ASSERT_TRUE(t);
  ASSERT_EQ(t->status, 200) << t->body;
  const json tokens = json::parse(t->body)["tokens"];
  EXPECT_EQ(tokens.get<std::vector<int32_t>>(), demo_model()->tokenizer().encode("import os\n", false, true));
  auto d = s.post("/detokenize", {{"tokens", tokens}});
  ASSERT_TRUE(d);
  EXPECT_EQ(json::parse(d->body)["content"], "import os\n");
  EXPECT_EQ(s.post("/detokenize", {{"tokens", {1, -1}}})->status, 400);
  EXPECT_EQ(s.post("/tokenize", {{"text", "x"}})->status, 400);
  EXPECT_EQ(s.client.Post("/tokenize", "nope", "application/json")->status, 400);
}

TEST(Server, MetricsCountRequestsTokensAndSpeculation) {
  // A fixed budget: the adaptive one may price every draft out on a loaded machine (CI once
  // counted drafts but no draft tokens).
  RunningServer s;
  ASSERT_EQ(s.post("/v1/completions", {{"prompt", kPrompt}, {"max_tokens", 40}, {"temperature", 0},
                                       {"speculative", {{"method", "pld:budget=fixed"}}}})
                ->status,
            200);
  s.post("/v1/completions", {{"prompt", 1}});
  auto m = s.client.Get("/metrics");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200);
  const std::string& page = m->body;
  EXPECT_EQ(metric(page, "aded:request_success_total{finished_reason=\"completed\"}"), 1);
  EXPECT_EQ(metric(page, "aded:request_bad_total"), 1);
  EXPECT_EQ(metric(page, "aded:generation_tokens_total"), 40);
  EXPECT_GT(metric(page, "aded:prompt_tokens_total"), 5);
  EXPECT_GT(metric(page, "aded:spec_decode_num_drafts_total"), 0);
  EXPECT_GT(metric(page, "aded:spec_decode_num_draft_tokens_total"), 0);
  EXPECT_GE(metric(page, "aded:spec_decode_num_accepted_tokens_total"), 0);
  EXPECT_EQ(metric(page, "aded:num_requests_running"), 0);
  EXPECT_EQ(metric(page, "aded:num_requests_waiting"), 0);
  EXPECT_EQ(metric(page, "aded:time_to_first_token_seconds_count"), 1);
  EXPECT_EQ(metric(page, "aded:time_per_output_token_seconds_count"), 39);
  EXPECT_NE(page.find("# TYPE aded:time_to_first_token_seconds histogram"), std::string::npos);
}

TEST(Server, AFullQueueAnswers503) {
  ServerOptions o = test_options();
  o.parallel = 1;
  o.queue_limit = 0;
  o.context.n_ctx = 1024;
  RunningServer s(o);
  constexpr int kClients = 6;
  std::vector<std::future<int>> statuses;
  std::atomic<int> ready{0};
  for (int i = 0; i < kClients; ++i)
    statuses.push_back(std::async(std::launch::async, [&] {
      httplib::Client c("127.0.0.1", s.port);
      c.set_read_timeout(60);
      ++ready;
      while (ready < kClients) std::this_thread::yield();
      auto r = c.Post("/v1/completions", json{{"prompt", kPrompt}, {"max_tokens", 900}, {"temperature", 0}}.dump(),
                      "application/json");
      if (r && r->status == 503) {
        EXPECT_EQ(json::parse(r->body)["error"]["type"], "server_busy");
      }
      return r ? r->status : -1;
    }));
  int ok = 0, busy = 0;
  for (auto& f : statuses) {
    const int status = f.get();
    ok += status == 200;
    busy += status == 503;
  }
  EXPECT_EQ(ok + busy, kClients);
  EXPECT_GE(ok, 1);
  EXPECT_GE(busy, 1);
  EXPECT_EQ(metric(s.client.Get("/metrics")->body, "aded:request_rejected_total"), busy);
}

TEST(Server, AClientThatDisconnectsCancelsItsGeneration) {
  ServerOptions o = test_options();
  o.context.n_ctx = 2048;
  RunningServer s(o);
  int chunks = 0;
  // A long stream, read a little and hung up on.
  httplib::Client c("127.0.0.1", s.port);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = json{{"prompt", kPrompt}, {"max_tokens", 2000}, {"temperature", 0}, {"stream", true}}.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };
  auto cut = c.send(req);
  EXPECT_FALSE(cut);  // the client cancelled
  double cancelled = 0;
  for (int i = 0; i < 200 && cancelled < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    cancelled = metric(s.client.Get("/metrics")->body, "aded:request_success_total{finished_reason=\"cancelled\"}");
  }
  EXPECT_EQ(cancelled, 1);
  const std::string page = s.client.Get("/metrics")->body;
  EXPECT_LT(metric(page, "aded:generation_tokens_total"), 1000);
  EXPECT_EQ(metric(page, "aded:num_requests_running"), 0);
}

// A raw connection that sends one request and can be hung up on before the answer comes.
class RawClient {
 public:
  RawClient(int port, const json& body) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
    const std::string text = body.dump();
    const std::string request = fmt::format(
        "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: {}\r\n\r\n{}",
        text.size(), text);
    EXPECT_EQ(send(fd_, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  }
  ~RawClient() { hang_up(); }
  void hang_up() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

TEST(Server, AClientThatHangsUpOnAPlainRequestCancelsIt) {
  ServerOptions o = test_options();
  o.context.n_ctx = 2048;
  RunningServer s(o);
  const auto gauge = [&](const char* name) { return metric(s.client.Get("/metrics")->body, name); };
  const auto wait_for = [&](const char* name, double value) {
    for (int i = 0; i < 4000 && gauge(name) != value; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return gauge(name);
  };
  const json body = {{"prompt", kPrompt}, {"max_tokens", 2000}, {"temperature", 0}};
  // One generating, one queued behind it (one slot); both clients go away.
  RawClient running(s.port, body);
  ASSERT_EQ(wait_for("aded:num_requests_running", 1), 1);
  RawClient queued(s.port, body);
  ASSERT_EQ(wait_for("aded:num_requests_waiting", 1), 1);
  queued.hang_up();
  running.hang_up();
  EXPECT_EQ(wait_for("aded:request_success_total{finished_reason=\"cancelled\"}", 2), 2);
  EXPECT_EQ(wait_for("aded:num_requests_running", 0), 0);
  // The first stopped early; the second never started (its prompt was not evaluated).
  const std::string page = s.client.Get("/metrics")->body;
  EXPECT_LT(metric(page, "aded:generation_tokens_total"), 1800);
  EXPECT_EQ(metric(page, "aded:prompt_tokens_total"),
            static_cast<double>(demo_model()->tokenizer().encode(kPrompt, true).size()));
}

TEST(Server, ARequestNamesNoFileButMaySelectOrJoinDrafters) {
  RunningServer s;
  for (const char* method : {"aded:ngram=/etc/passwd", "union:of=pld/aded:ngram=/etc/passwd",
                             "select:of=pld/draft:model=/etc/passwd", "self:skip=@/etc/passwd",
                             "self:copy=x.gguf", "auto:policy=/etc/passwd"}) {
    SCOPED_TRACE(method);
    auto r = s.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 2}, {"speculative", {{"method", method}}}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("names a file, which only the command line may do"), std::string::npos) << r->body;
  }
  // of= lists members, and a skip set that is not @FILE is no file.
  for (const char* method : {"select:of=pld/aded", "union:of=aded/pld", "self:skip=every-other", "auto:of=none/pld"}) {
    SCOPED_TRACE(method);
    auto r = s.post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 2}, {"speculative", {{"method", method}}}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
}

TEST(Server, AnswersRequestsGivenAsBytesLikeAConnection) {
  // The path the HTTP fuzz target takes: parser, routes and writers, no socket.
  Server server(demo_model(), test_options());
  const std::string body = json{{"prompt", kPrompt}, {"max_tokens", 5}, {"temperature", 0}}.dump();
  const std::string answer = server.answer_http_bytes(
      fmt::format("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{}"
                  "GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
                  body.size(), body));
  const size_t first = answer.find("HTTP/1.1 200 OK\r\n");
  const size_t second = answer.find("HTTP/1.1 200 OK\r\n", first + 1);
  const size_t third = answer.find("HTTP/1.1 404 Not Found\r\n");
  EXPECT_EQ(first, 0u);
  ASSERT_NE(second, std::string::npos);
  ASSERT_NE(third, std::string::npos);
  EXPECT_LT(second, third);
  // The completion is the generator's.
  const size_t json_at = answer.find("\r\n\r\n") + 4;
  const json completion = json::parse(answer.substr(json_at, answer.find("HTTP/1.1", json_at) - json_at));
  EXPECT_EQ(completion["choices"][0]["text"], generator_text(kPrompt, 5));
  EXPECT_EQ(server.answer_http_bytes("GARBAGE\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
}

TEST(Server, StopLetsTheRunningRequestFinishAndRefusesNewOnes) {
  ServerOptions o = test_options();
  o.context.n_ctx = 1024;
  auto s = std::make_unique<RunningServer>(o);
  auto running = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", s->port);
    c.set_read_timeout(60);
    auto r = c.Post("/v1/completions", json{{"prompt", kPrompt}, {"max_tokens", 500}, {"temperature", 0}}.dump(),
                    "application/json");
    return r ? json::parse(r->body)["usage"]["completion_tokens"].get<int>() : -1;
  });
  while (metric(s->client.Get("/metrics")->body, "aded:num_requests_running") < 1)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  s->server.stop();
  EXPECT_EQ(running.get(), 500);
  EXPECT_FALSE(s->client.Get("/health"));  // the listener is closed
}

}  // namespace
}  // namespace aded::testing
