#include "server/slots.h"

namespace aded::server {

Slot::Slot(std::shared_ptr<const Model> model, const ContextOptions& options)
    : context(model, options), env(model.get(), &context), generator(context) {}

SlotPool::SlotPool(std::shared_ptr<const Model> model, int slots, int queue_limit, ContextOptions options)
    : queue_limit_(queue_limit) {
  // One thread pool for every slot: their forwards take turns instead of fighting over cores.
  if (!options.pool) {
    auto first = std::make_unique<Slot>(model, options);
    options.pool = first->context.shared_pool();
    options.n_threads = 0;
    slots_.push_back(std::move(first));
  }
  while (static_cast<int>(slots_.size()) < slots) slots_.push_back(std::make_unique<Slot>(model, options));
  for (size_t i = 0; i < slots_.size(); ++i) {
    slots_[i]->index = static_cast<int>(i);
    free_.push_back(slots_[slots_.size() - 1 - i].get());
  }
}

std::unique_ptr<SlotPool::Lease> SlotPool::acquire() {
  std::unique_lock lock(mutex_);
  if (closed_) throw QueueFull("the server is shutting down");
  if (free_.empty()) {
    if (waiting_ >= queue_limit_)
      throw QueueFull("all " + std::to_string(slots_.size()) + " slots are busy and " + std::to_string(waiting_) +
                      " requests are waiting (the queue is full); retry later");
    ++waiting_;
    freed_.wait(lock, [&] { return closed_ || !free_.empty(); });
    --waiting_;
    if (closed_) throw QueueFull("the server is shutting down");
  }
  Slot* slot = free_.back();
  free_.pop_back();
  return std::make_unique<Lease>(*this, *slot);
}

void SlotPool::release(Slot& slot) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(&slot);
  }
  freed_.notify_one();
}

void SlotPool::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  freed_.notify_all();
}

int SlotPool::waiting() const {
  std::lock_guard lock(mutex_);
  return waiting_;
}

int SlotPool::running() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(slots_.size() - free_.size());
}

}  // namespace aded::server
