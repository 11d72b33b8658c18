// Prompt files of the speculative-decoding benchmark: JSON lines, plain or gzip-compressed.
#include <zlib.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "aded/error.h"
#include "aded/mapped_file.h"
#include "aded/spec_bench.h"

namespace aded {

namespace {

// Prompt sets are megabytes; a file that inflates beyond this is refused, not held in memory.
constexpr size_t kMaxInflated = size_t{256} << 20;

bool is_gzip(std::span<const uint8_t> b) { return b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

// Every member of a gzip stream, concatenated.
std::string gunzip(std::span<const uint8_t> in, const std::string& name) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw Error("zlib: cannot start inflating");
  std::string out;
  char buf[1 << 16];
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  int rc = Z_OK;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
    if (out.size() > kMaxInflated) {
      inflateEnd(&z);
      fail("{}: inflates to more than {} MB, too large for a prompt file", name, kMaxInflated >> 20);
    }
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // another gzip member follows
      continue;
    }
    if (rc != Z_OK) {
      const std::string reason = z.msg ? z.msg : "corrupt data";
      inflateEnd(&z);
      fail("{}: not a valid gzip file ({})", name, rc == Z_BUF_ERROR ? "truncated" : reason);
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

std::vector<BenchPrompt> parse_bench_prompts(std::span<const uint8_t> bytes, const std::string& name) {
  const std::string text = is_gzip(bytes) ? gunzip(bytes, name) : std::string(bytes.begin(), bytes.end());
  std::vector<BenchPrompt> prompts;
  size_t line_no = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: line {}: not valid JSON ({})", name, line_no, e.what());
    }
    if (!j.is_object()) fail("{}: line {}: expected a JSON object", name, line_no);
    BenchPrompt p;
    if (j.contains("turns") && j["turns"].is_array() && !j["turns"].empty() && j["turns"][0].is_string())
      p.text = j["turns"][0].get<std::string>();
    else if (j.contains("prompt") && j["prompt"].is_string())
      p.text = j["prompt"].get<std::string>();
    else
      fail("{}: line {}: needs a \"turns\" array or a \"prompt\" string", name, line_no);
    if (j.contains("category") && j["category"].is_string()) p.category = j["category"].get<std::string>();
    if (j.contains("task_id") && j["task_id"].is_string())
      p.id = j["task_id"].get<std::string>();
    else if (j.contains("question_id"))
      p.id = j["question_id"].dump();
    else
      p.id = std::to_string(line_no);
    prompts.push_back(std::move(p));
  }
  if (prompts.empty()) fail("{}: no prompts", name);
  const bool any = std::any_of(prompts.begin(), prompts.end(), [](const BenchPrompt& p) { return !p.category.empty(); });
  for (auto& p : prompts)
    if (p.category.empty()) p.category = any ? "other" : "all";
  return prompts;
}

std::vector<BenchPrompt> read_bench_prompts(const std::string& path) {
  const auto file = MappedFile::open(path);
  return parse_bench_prompts(file->bytes(), path);
}

}  // namespace aded
