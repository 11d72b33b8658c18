// Chat templates: every real template in ../shared/data/chat-templates is recognized as the
// expected format or refused with the reason; each format renders the exact text its template
// would; names round-trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "server/chat_template.h"
#include "support/test_support.h"

namespace aded::server {
namespace {

TEST(ChatTemplate, EveryRealTemplateIsRecognizedOrRefusedWithAReason) {
  ADED_REQUIRE_SHARED_DATA();
  const auto dir = testing::shared_data() / "chat-templates";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "no " << dir;
  // File -> the format, or "" for a refusal.
  const std::map<std::string, std::string> expected = {
      {"CohereForAI-c4ai-command-r-plus-tool_use.jinja", ""},
      {"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", ""},
      {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "chatml"},
      {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "chatml"},
      {"Qwen-Qwen2.5-7B-Instruct.jinja", "chatml"},
      {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "deepseek-r1"},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-r1"},
      {"fireworks-ai-llama-3-firefunction-v2.jinja", ""},
      {"google-gemma-2-2b-it.jinja", "gemma"},
      {"llama-cpp-deepseek-r1.jinja", "deepseek-r1"},
      {"meetkai-functionary-medium-v3.1.jinja", ""},
      {"meetkai-functionary-medium-v3.2.jinja", ""},
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3"},
      {"meta-llama-Llama-3.2-3B-Instruct.jinja", "llama3"},
      {"meta-llama-Llama-3.3-70B-Instruct.jinja", "llama3"},
      {"microsoft-Phi-3.5-mini-instruct.jinja", "phi3"},
      {"mistralai-Mistral-Nemo-Instruct-2407.jinja", "mistral"},
  };
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".jinja") continue;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    ++seen;
    const auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << "a template this test does not know: add its expected outcome";
    const auto found = recognize_chat_template(testing::read_file(entry.path()));
    if (it->second.empty()) {
      EXPECT_FALSE(found.format) << chat_format_name(*found.format);
      EXPECT_FALSE(found.refusal.empty());
    } else {
      ASSERT_TRUE(found.format) << found.refusal;
      EXPECT_EQ(chat_format_name(*found.format), it->second);
    }
  }
  EXPECT_EQ(seen, static_cast<int>(expected.size()));
}

TEST(ChatTemplate, ClassicTemplatesByTheirMarkers) {
  EXPECT_EQ(recognize_chat_template("{{ '<|user|>\n' + message['content'] + eos_token }}{{ '<|assistant|>\n' }}").format,
            ChatFormat::Zephyr);
  EXPECT_EQ(recognize_chat_template("{{ bos_token + '[INST] <<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' }}").format,
            ChatFormat::Llama2);
  EXPECT_EQ(recognize_chat_template("{{ '[INST] ' + message['content'] + ' [/INST]' }}").format, ChatFormat::Mistral);
  EXPECT_FALSE(recognize_chat_template("").format);
  EXPECT_NE(recognize_chat_template("").refusal.find("no chat template"), std::string::npos);
  const auto odd = recognize_chat_template("{% for m in messages %}### {{ m.role }}: {{ m.content }}{% endfor %}");
  EXPECT_FALSE(odd.format);
  EXPECT_NE(odd.refusal.find("chatml"), std::string::npos);
}

TEST(ChatTemplate, RendersEachFormat) {
  const std::vector<ChatMessage> chat = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Bye"}};
  EXPECT_EQ(render_chat(ChatFormat::ChatML, chat),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello."
            "<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatFormat::Llama3, chat),
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>"
            "\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user"
            "<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(ChatFormat::Llama2, chat),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Bye [/INST]");
  EXPECT_EQ(render_chat(ChatFormat::Mistral, chat), "[INST]Be brief.\n\nHi[/INST]Hello.</s>[INST]Bye[/INST]");
  EXPECT_EQ(render_chat(ChatFormat::Gemma, chat),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(render_chat(ChatFormat::Phi3, chat),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nBye<|end|>\n"
            "<|assistant|>\n");
  EXPECT_EQ(render_chat(ChatFormat::Zephyr, chat),
            "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello.</s>\n<|user|>\nBye</s>\n<|assistant|>\n");
  EXPECT_EQ(render_chat(ChatFormat::DeepSeekR1, chat),
            "Be brief.<｜User｜>Hi<｜Assistant｜>Hello.<｜end▁of▁sentence｜><｜User｜>Bye<｜Assistant｜>");
}

TEST(ChatTemplate, NamesRoundTrip) {
  for (auto f : {ChatFormat::ChatML, ChatFormat::Llama2, ChatFormat::Llama3, ChatFormat::Zephyr, ChatFormat::Mistral,
                 ChatFormat::Gemma, ChatFormat::Phi3, ChatFormat::DeepSeekR1}) {
    EXPECT_EQ(chat_format_from_name(chat_format_name(f)), f);
    EXPECT_FALSE(chat_stop_strings(f).empty());
  }
  EXPECT_FALSE(chat_format_from_name("jinja"));
}

}  // namespace
}  // namespace aded::server
