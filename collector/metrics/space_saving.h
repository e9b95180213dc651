#pragma once
// Weighted Space-Saving (Metwally, Agrawal, El Abbadi, "Efficient computation
// of frequent and top-k elements in data streams", ICDT 2005): a summary of a
// stream of (key, weight) pairs in a fixed number of counters, so attacker-
// chosen keys (a scan from a million random sources) cost bounded memory.
//
// Guarantees for a stream of total weight N summarised in m counters:
//  - every key whose true weight exceeds N/m is in the summary;
//  - for a tracked key, estimate - error <= true weight <= estimate, and
//    error <= N/m;
//  - while the number of distinct keys is <= m, every estimate is exact.
//
// Add() is O(log m) (a min-heap over the counters, indexed by position).
// Not thread-safe: the owner serialises access.

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace vigil::collector::metrics {

template <typename Key, typename Hash = std::hash<Key>>
class SpaceSaving {
 public:
  struct Entry {
    Key key;
    uint64_t estimate = 0;  ///< upper bound of the key's true weight
    uint64_t error = 0;     ///< estimate - error is a lower bound
    uint64_t LowerBound() const { return estimate - error; }
  };

  explicit SpaceSaving(std::size_t capacity, Hash hash = Hash())
      : capacity_(capacity == 0 ? 1 : capacity), index_(capacity_ * 2, hash) {
    entries_.reserve(capacity_);
    heap_.reserve(capacity_);
    position_.reserve(capacity_);
  }

  void Add(const Key& key, uint64_t weight) {
    total_ += weight;
    if (auto it = index_.find(key); it != index_.end()) {
      entries_[it->second].estimate += weight;
      SiftDown(position_[it->second]);
      return;
    }
    if (entries_.size() < capacity_) {
      const std::size_t slot = entries_.size();
      entries_.push_back(Entry{key, weight, 0});
      index_.emplace(key, slot);
      heap_.push_back(slot);
      position_.push_back(heap_.size() - 1);
      SiftUp(heap_.size() - 1);
      return;
    }
    // Full: the key takes over the smallest counter, inheriting its count as
    // the error bound (the new key may have been seen before and evicted).
    const std::size_t slot = heap_.front();
    Entry& victim = entries_[slot];
    index_.erase(victim.key);
    const uint64_t floor = victim.estimate;
    victim = Entry{key, floor + weight, floor};
    index_.emplace(key, slot);
    ++evictions_;
    SiftDown(0);
  }

  /// The tracked entries, largest lower bound first (ties: largest estimate).
  std::vector<Entry> Entries() const {
    std::vector<Entry> out = entries_;
    std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
      if (a.LowerBound() != b.LowerBound()) return a.LowerBound() > b.LowerBound();
      return a.estimate > b.estimate;
    });
    return out;
  }

  uint64_t Total() const { return total_; }
  uint64_t Evictions() const { return evictions_; }
  std::size_t Size() const { return entries_.size(); }
  std::size_t Capacity() const { return capacity_; }

  void Clear() {
    entries_.clear();
    heap_.clear();
    position_.clear();
    index_.clear();
    total_ = 0;
    evictions_ = 0;
  }

 private:
  uint64_t At(std::size_t heap_pos) const { return entries_[heap_[heap_pos]].estimate; }

  void Swap(std::size_t a, std::size_t b) {
    std::swap(heap_[a], heap_[b]);
    position_[heap_[a]] = a;
    position_[heap_[b]] = b;
  }

  void SiftUp(std::size_t pos) {
    while (pos > 0) {
      const std::size_t parent = (pos - 1) / 2;
      if (At(parent) <= At(pos)) break;
      Swap(parent, pos);
      pos = parent;
    }
  }

  void SiftDown(std::size_t pos) {
    const std::size_t n = heap_.size();
    for (;;) {
      const std::size_t left = 2 * pos + 1;
      if (left >= n) break;
      std::size_t smallest = left;
      if (left + 1 < n && At(left + 1) < At(left)) smallest = left + 1;
      if (At(pos) <= At(smallest)) break;
      Swap(pos, smallest);
      pos = smallest;
    }
  }

  std::size_t capacity_;
  std::vector<Entry> entries_;         // slot -> entry
  std::vector<std::size_t> heap_;      // min-heap of slots by estimate
  std::vector<std::size_t> position_;  // slot -> position in heap_
  std::unordered_map<Key, std::size_t, Hash> index_;
  uint64_t total_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace vigil::collector::metrics
