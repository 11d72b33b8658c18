// The slots requests run in: each slot is a context (its own KV cache) with its generator and its
// speculators, so up to N requests generate at once, taking turns on one shared thread pool.
// Requests beyond N wait in a bounded queue; beyond that they are turned away (QueueFull -> 503).
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "aded/context.h"
#include "aded/drafter_registry.h"
#include "aded/generator.h"
#include "aded/model.h"
#include "aded/speculator.h"

namespace aded::server {

class QueueFull : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Slot {
  Slot(std::shared_ptr<const Model> model, const ContextOptions& options);
  Context context;
  DrafterEnvironment env;
  Generator generator;
  // Speculators by method string, made on first use; they keep what they learn across requests.
  std::map<std::string, std::unique_ptr<Speculator>> speculators;
  int index = 0;
};

class SlotPool {
 public:
  // queue_limit: how many requests may wait for a slot (0: none wait).
  SlotPool(std::shared_ptr<const Model> model, int slots, int queue_limit, ContextOptions options);
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  // A slot held until the lease is destroyed.
  class Lease {
   public:
    Lease(SlotPool& pool, Slot& slot) : pool_(pool), slot_(slot) {}
    ~Lease() { pool_.release(slot_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Slot& slot() { return slot_; }

   private:
    SlotPool& pool_;
    Slot& slot_;
  };

  // Waits for a free slot; throws QueueFull when the queue is full or the pool is closed.
  std::unique_ptr<Lease> acquire();
  // Turns every later acquire() away and wakes the waiting ones (which are turned away too).
  void close();

  int waiting() const;
  int running() const;
  int size() const { return static_cast<int>(slots_.size()); }
  Slot& slot(int i) { return *slots_[static_cast<size_t>(i)]; }

 private:
  void release(Slot& slot);

  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_;
  int queue_limit_;
  int waiting_ = 0;
  bool closed_ = false;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
};

}  // namespace aded::server
