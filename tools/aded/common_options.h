// Flags shared by several commands (llama.cpp names), and helpers to act on them.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>

#include "aded/context.h"
#include "aded/model.h"
#include "aded/sampler.h"

namespace aded::cli {

struct ModelOptions {
  std::string path;
  int threads = 0;
  int ctx = 0;
  bool full_head = false;
  std::string cache_type_k = "f16";  // -ctk: f16, f32 or q8_0
  std::string cache_type_v = "f16";  // -ctv
};

// An integer flag value in [lo, hi]; unlike CLI::Range it tells "not a number" from "out of range".
CLI::Validator int_range(int lo, int hi);

void add_model_options(CLI::App& cmd, ModelOptions& o, bool model_required = true);
void add_sampling_options(CLI::App& cmd, SamplingParams& s);
std::shared_ptr<const Model> load_model(const ModelOptions& o);
ContextOptions context_options(const ModelOptions& o);
// The prompt file (-f): a regular file, or a pipe or device read as it comes, at most 256 MB. A
// folder, a socket or a named pipe with no writer is refused at once, with the reason.
std::string read_text_file(const std::string& path);
// Refuses, before any long work, an output path that cannot be written (core/output_target.h:
// a folder, a missing folder, a place where no file can be created, one of `inputs`). flag names
// the option in the message.
void check_output_path(const std::string& path, const std::string& flag,
                       std::initializer_list<std::filesystem::path> inputs = {});

}  // namespace aded::cli
