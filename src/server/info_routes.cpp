// The endpoints that do not generate: health, models, tokenize, detokenize, metrics, the page.
#include <cstdint>
#include <optional>

#include <fmt/format.h>

#include "server/openai_format.h"
#include "server/server_state.h"
#include "server/web_page.h"

namespace aded {

using nlohmann::json;

namespace {

// A JSON object body, or an error reply (returns false).
bool object_body(Server::Impl& s, const httplib::Request& req, httplib::Response& res, json& body) {
  try {
    body = server::parse_json_body(req.body);
  } catch (const server::RequestError& e) {
    s.reply_error(res, 400, e.what(), "invalid_request_error");
    return false;
  }
  if (!body.is_object()) {
    s.reply_error(res, 400, std::string("the body must be a JSON object, not ") + body.type_name(), "invalid_request_error");
    return false;
  }
  return true;
}

bool flag(const json& body, const char* key, bool fallback) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw server::RequestError(key, fmt::format("'{}' must be true or false", key));
  return it->get<bool>();
}

std::optional<int32_t> token_id(const json& t, const Tokenizer& tok) {
  if (!t.is_number_integer()) return std::nullopt;
  if (t.is_number_unsigned() ? t.get<uint64_t>() > INT32_MAX : (t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX))
    return std::nullopt;
  const auto id = static_cast<int32_t>(t.get<int64_t>());
  return tok.valid(id) ? std::optional<int32_t>(id) : std::nullopt;
}

}  // namespace

void Server::Impl::add_info_routes() {
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (stopping) {
      res.status = 503;
      res.set_content(R"({"status":"stopping"})", "application/json");
      return;
    }
    res.set_content(server::to_text({{"status", "ok"}, {"slots_idle", slots->size() - slots->running()},
                                      {"slots_processing", slots->running()}, {"requests_waiting", slots->waiting()}}),
                    "application/json");
  });

  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    const ModelConfig& c = model->config();
    json m = {{"id", options.model_name},
              {"object", "model"},
              {"created", 0},
              {"owned_by", "aded"},
              {"meta",
               {{"n_vocab", c.n_vocab},
                {"n_ctx_train", c.ctx_train},
                {"n_ctx", slots->slot(0).context.n_ctx()},
                {"n_params", model->parameter_count()},
                {"chat_template", chat_format ? std::string(server::chat_format_name(*chat_format)) : std::string()},
                {"speculative_method", options.spec_method},
                {"parallel", slots->size()}}}};
    res.set_content(server::to_text({{"object", "list"}, {"data", json::array({m})}}), "application/json");
  });

  http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!object_body(*this, req, res, body)) return;
    try {
      const auto content = body.find("content");
      if (content == body.end() || !content->is_string())
        throw server::RequestError("content", "'content' is required and must be a string");
      const Tokenizer& tok = model->tokenizer();
      const auto ids = tok.encode(content->get<std::string>(), flag(body, "add_special", false),
                                  flag(body, "parse_special", true));
      json tokens = json::array();
      const bool pieces = flag(body, "with_pieces", false);
      for (int32_t id : ids) tokens.push_back(pieces ? json{{"id", id}, {"piece", tok.token_bytes(id)}} : json(id));
      res.set_content(server::to_text({{"tokens", tokens}}), "application/json");
    } catch (const server::RequestError& e) {
      reply_error(res, 400, e.what(), "invalid_request_error", e.param());
    }
  });

  http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
    json body;
    if (!object_body(*this, req, res, body)) return;
    const auto tokens = body.find("tokens");
    if (tokens == body.end() || !tokens->is_array())
      return reply_error(res, 400, "'tokens' is required and must be an array of token ids", "invalid_request_error",
                         "tokens");
    const Tokenizer& tok = model->tokenizer();
    std::vector<int32_t> ids;
    for (size_t i = 0; i < tokens->size(); ++i) {
      const auto id = token_id((*tokens)[i], tok);
      if (!id)
        return reply_error(res, 400, fmt::format("'tokens[{}]' must be a token id from 0 to {}", i, tok.size() - 1),
                           "invalid_request_error", fmt::format("tokens[{}]", i));
      ids.push_back(*id);
    }
    res.set_content(server::to_text({{"content", tok.decode(ids)}}), "application/json");
  });

  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(slots->waiting(), slots->running()), "text/plain; version=0.0.4");
  });

  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    const std::string_view page = server::web_page_html();
    res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
  });
}

}  // namespace aded
