// Chat formats: how a list of messages becomes one prompt. A GGUF carries its format as a Jinja
// template (tokenizer.chat_template); aded does not run Jinja. It recognizes the common formats by
// their distinctive markers (ChatML's <|im_start|>, Llama 3's <|start_header_id|>, ...) and renders
// them with code of its own; a template it does not recognize is refused with the reason, and the
// user names a format instead (--chat-template).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aded::server {

enum class ChatFormat { ChatML, Llama2, Llama3, Zephyr, Mistral, Gemma, Phi3, DeepSeekR1 };

struct ChatMessage {
  std::string role;  // system, user or assistant
  std::string content;
};

// "chatml", "llama2", "llama3", "zephyr", "mistral", "gemma", "phi3", "deepseek-r1".
std::string_view chat_format_name(ChatFormat format);
std::optional<ChatFormat> chat_format_from_name(std::string_view name);
// The names, comma separated, for help and messages.
std::string chat_format_names();

// What a template text was found to be: a format, or why it is refused.
struct TemplateRecognition {
  std::optional<ChatFormat> format;
  std::string refusal;  // set when format is empty
};
TemplateRecognition recognize_chat_template(std::string_view jinja);

// The prompt text for the messages (no BOS: the tokenizer adds it by the model's rule), ending
// with the opening of the assistant's turn when add_generation_prompt. The text holds the format's
// special markers, to be tokenized with special tokens parsed.
std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt = true);

// Text that ends the assistant's turn in this format (a stop string besides the model's EOS).
std::vector<std::string> chat_stop_strings(ChatFormat format);

}  // namespace aded::server
