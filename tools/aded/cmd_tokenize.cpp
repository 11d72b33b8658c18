// `aded tokenize`: a text's token ids under a model's tokenizer (any GGUF with tokenizer metadata,
// vocabulary-only files included), printed space-separated on one line like llama.cpp's test
// files, or one token per line with its text (--show-pieces).
#include <memory>

#include "aded/error.h"
#include "aded/gguf.h"
#include "aded/tokenizer.h"
#include "commands.h"
#include "common_options.h"
#include "core/printable_text.h"

namespace aded::cli {

Command add_tokenize(CLI::App& app) {
  struct Options {
    std::string model, prompt, file;
    bool no_bos = false, no_parse_special = false, show_pieces = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids of a text under a model's tokenizer");
  cmd->add_option("-m,--model", o->model, "GGUF file with a tokenizer (a vocabulary-only file will do)")
      ->required();
  auto* prompt = cmd->add_option("-p,--prompt", o->prompt, "the text");
  auto* file = cmd->add_option("-f,--file", o->file, "read the text from this file (its bytes as they are)");
  prompt->excludes(file);
  cmd->add_flag("--no-bos", o->no_bos, "do not add BOS, even where the model adds it");
  cmd->add_flag("--no-parse-special", o->no_parse_special,
                "text such as <|im_start|> stays text instead of becoming its control token");
  cmd->add_flag("--show-pieces", o->show_pieces,
                "one token per line: its id and its text (escaped where a terminal would act on it)");
  return {cmd, [o, prompt, file] {
            if (prompt->count() == 0 && file->count() == 0) fail("give the text: -p TEXT or -f FILE");
            const auto tokenizer = Tokenizer::from_gguf(GgufFile::open(o->model));
            const std::string text = file->count() ? read_text_file(o->file) : o->prompt;
            const bool bos = tokenizer->add_bos_by_default() && !o->no_bos;
            const auto ids = tokenizer->encode(text, bos, !o->no_parse_special);
            if (o->show_pieces) {
              for (int32_t id : ids)
                fmt::print("{:>8} '{}'\n", id, printable_text(tokenizer->token_bytes(id)));
              return 0;
            }
            std::string line;
            for (int32_t id : ids) {
              if (!line.empty()) line += ' ';
              line += std::to_string(id);
            }
            fmt::print("{}\n", line);
            return 0;
          }};
}

}  // namespace aded::cli
