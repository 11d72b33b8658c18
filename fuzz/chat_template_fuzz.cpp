// libFuzzer target: chat-template recognition and rendering. The input's first line up to a NUL
// byte is a template text (what a GGUF's tokenizer.chat_template holds); the rest, split at
// newlines, are messages whose first byte picks the role. Recognition must give a format or a
// refusal with a reason; every format must render any messages, containing each message's text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "server/chat_template.h"

namespace {

void check(bool ok, const char* invariant) {
  if (ok) return;
  std::fprintf(stderr, "chat_template_fuzz: invariant violated: %s\n", invariant);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aded::server;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t split = std::min(input.find('\0'), input.size());
  const auto found = recognize_chat_template(std::string_view(input).substr(0, split));
  check(found.format.has_value() != !found.refusal.empty(), "a format or a reason, not both");
  if (found.format) check(chat_format_from_name(chat_format_name(*found.format)) == found.format, "name round trip");

  std::vector<ChatMessage> messages;
  static const char* const kRoles[] = {"system", "user", "assistant"};
  for (size_t at = split + 1; at < input.size();) {
    const size_t end = std::min(input.find('\n', at), input.size());
    const std::string line = input.substr(at, end - at);
    if (!line.empty()) messages.push_back({kRoles[static_cast<unsigned char>(line[0]) % 3], line.substr(1)});
    at = end + 1;
  }
  for (auto format : {ChatFormat::ChatML, ChatFormat::Llama2, ChatFormat::Llama3, ChatFormat::Zephyr,
                      ChatFormat::Mistral, ChatFormat::Gemma, ChatFormat::Phi3, ChatFormat::DeepSeekR1}) {
    const std::string text = render_chat(format, messages);
    for (const auto& m : messages)
      if (m.role != "system") check(text.find(m.content) != std::string::npos, "every turn's text is in the prompt");
    check(!chat_stop_strings(format).empty(), "every format has stop strings");
  }
  return 0;
}
