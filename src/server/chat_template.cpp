#include "server/chat_template.h"

#include <array>
#include <utility>

namespace aded::server {

namespace {

constexpr std::array<std::pair<ChatFormat, std::string_view>, 8> kNames{{
    {ChatFormat::ChatML, "chatml"},
    {ChatFormat::Llama2, "llama2"},
    {ChatFormat::Llama3, "llama3"},
    {ChatFormat::Zephyr, "zephyr"},
    {ChatFormat::Mistral, "mistral"},
    {ChatFormat::Gemma, "gemma"},
    {ChatFormat::Phi3, "phi3"},
    {ChatFormat::DeepSeekR1, "deepseek-r1"},
}};

bool has(std::string_view text, std::string_view marker) { return text.find(marker) != std::string_view::npos; }

// The system messages joined, for formats that have no system turn of their own.
std::string system_text(const std::vector<ChatMessage>& messages) {
  std::string text;
  for (const auto& m : messages)
    if (m.role == "system") text += (text.empty() ? "" : "\n\n") + m.content;
  return text;
}

// <marker>role\ncontent<end> per message, the format of ChatML, Phi-3 and Zephyr.
std::string render_tagged(const std::vector<ChatMessage>& messages, bool generation_prompt, std::string_view open,
                          std::string_view close_role, std::string_view end, std::string_view assistant) {
  std::string out;
  for (const auto& m : messages) {
    out += open;
    out += m.role;
    out += close_role;
    out += m.content;
    out += end;
  }
  if (generation_prompt) out += assistant;
  return out;
}

std::string render_llama3(const std::vector<ChatMessage>& messages, bool generation_prompt) {
  std::string out;
  for (const auto& m : messages) out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
  if (generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Llama 2: the system prompt inside the first [INST] block; each exchange closed by </s><s>.
std::string render_llama2(const std::vector<ChatMessage>& messages) {
  std::string out, system = system_text(messages);
  bool first_user = true;
  for (const auto& m : messages) {
    if (m.role == "user") {
      out += "[INST] ";
      if (first_user && !system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
      first_user = false;
      out += m.content + " [/INST]";
    } else if (m.role == "assistant") {
      out += " " + m.content + " </s><s>";
    }
  }
  return out;
}

// Mistral (v3 / Tekken, as Mistral Nemo): [INST]user[/INST]assistant</s>, the system prompt
// before the first user message.
std::string render_mistral(const std::vector<ChatMessage>& messages) {
  std::string out, system = system_text(messages);
  bool first_user = true;
  for (const auto& m : messages) {
    if (m.role == "user") {
      out += "[INST]";
      if (first_user && !system.empty()) out += system + "\n\n";
      first_user = false;
      out += m.content + "[/INST]";
    } else if (m.role == "assistant") {
      out += m.content + "</s>";
    }
  }
  return out;
}

// Gemma: user and model turns only; a system prompt opens the first user turn.
std::string render_gemma(const std::vector<ChatMessage>& messages, bool generation_prompt) {
  std::string out, system = system_text(messages);
  for (const auto& m : messages) {
    if (m.role == "system") continue;
    std::string content = m.content;
    if (m.role == "user" && !system.empty()) content = std::exchange(system, {}) + "\n\n" + content;
    out += "<start_of_turn>" + std::string(m.role == "assistant" ? "model" : m.role) + "\n" + content + "<end_of_turn>\n";
  }
  if (generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

std::string render_deepseek_r1(const std::vector<ChatMessage>& messages, bool generation_prompt) {
  std::string out = system_text(messages);
  for (const auto& m : messages) {
    if (m.role == "user") out += "<｜User｜>" + m.content;
    if (m.role == "assistant") out += "<｜Assistant｜>" + m.content + "<｜end▁of▁sentence｜>";
  }
  if (generation_prompt) out += "<｜Assistant｜>";
  return out;
}

}  // namespace

std::string_view chat_format_name(ChatFormat format) {
  for (const auto& [f, name] : kNames)
    if (f == format) return name;
  return "unknown";
}

std::optional<ChatFormat> chat_format_from_name(std::string_view name) {
  for (const auto& [f, n] : kNames)
    if (n == name) return f;
  return std::nullopt;
}

std::string chat_format_names() {
  std::string names;
  for (const auto& entry : kNames) names += (names.empty() ? "" : ", ") + std::string(entry.second);
  return names;
}

TemplateRecognition recognize_chat_template(std::string_view t) {
  // Function-calling templates put their tool instructions into every prompt: rendering their
  // turns alone would give the model a prompt it was not trained on.
  if (has(t, "functools"))
    return {std::nullopt, "a function-calling template (FireFunction) that adds its tool instructions to every prompt"};
  if (has(t, "{# version=v3"))
    return {std::nullopt, "a function-calling template (Functionary v3) that adds its tool instructions to every prompt"};
  if (has(t, "<|START_OF_TURN_TOKEN|>"))
    return {std::nullopt, "the Command R format (<|START_OF_TURN_TOKEN|>), which aded does not render"};
  if (has(t, "<|im_start|>")) return {ChatFormat::ChatML, {}};
  if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>")) return {ChatFormat::Llama3, {}};
  if (has(t, "<start_of_turn>")) return {ChatFormat::Gemma, {}};
  if (has(t, "<｜User｜>") && has(t, "<｜Assistant｜>")) return {ChatFormat::DeepSeekR1, {}};
  if (has(t, "<|user|>") && has(t, "<|end|>")) return {ChatFormat::Phi3, {}};
  if (has(t, "<|user|>") && has(t, "<|assistant|>")) return {ChatFormat::Zephyr, {}};
  if (has(t, "[INST]") && has(t, "<<SYS>>")) return {ChatFormat::Llama2, {}};
  if (has(t, "[INST]")) return {ChatFormat::Mistral, {}};
  if (t.empty()) return {std::nullopt, "the model has no chat template (tokenizer.chat_template)"};
  return {std::nullopt, "no marker of a format aded knows (" + chat_format_names() + ")"};
}

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  switch (format) {
    case ChatFormat::ChatML:
      return render_tagged(messages, add_generation_prompt, "<|im_start|>", "\n", "<|im_end|>\n",
                           "<|im_start|>assistant\n");
    case ChatFormat::Phi3:
      return render_tagged(messages, add_generation_prompt, "<|", "|>\n", "<|end|>\n", "<|assistant|>\n");
    case ChatFormat::Zephyr:
      return render_tagged(messages, add_generation_prompt, "<|", "|>\n", "</s>\n", "<|assistant|>\n");
    case ChatFormat::Llama3:
      return render_llama3(messages, add_generation_prompt);
    case ChatFormat::Llama2:
      return render_llama2(messages);
    case ChatFormat::Mistral:
      return render_mistral(messages);
    case ChatFormat::Gemma:
      return render_gemma(messages, add_generation_prompt);
    case ChatFormat::DeepSeekR1:
      return render_deepseek_r1(messages, add_generation_prompt);
  }
  return {};
}

std::vector<std::string> chat_stop_strings(ChatFormat format) {
  switch (format) {
    case ChatFormat::ChatML: return {"<|im_end|>", "<|im_start|>"};
    case ChatFormat::Llama3: return {"<|eot_id|>", "<|start_header_id|>"};
    case ChatFormat::Phi3: return {"<|end|>", "<|user|>"};
    case ChatFormat::Zephyr: return {"</s>", "<|user|>"};
    case ChatFormat::Gemma: return {"<end_of_turn>", "<start_of_turn>"};
    case ChatFormat::DeepSeekR1: return {"<｜end▁of▁sentence｜>", "<｜User｜>"};
    case ChatFormat::Llama2:
    case ChatFormat::Mistral: return {"</s>", "[INST]"};
  }
  return {};
}

}  // namespace aded::server
